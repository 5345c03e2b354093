//! The digest's chart: panels of labelled horizontal bars with a value axis and each bar's
//! value, drawn by plotters into memory and encoded as PNG by the png crate. The words come
//! from the caller, already in the reader's language; the text is set in DejaVu Sans,
//! shipped in `assets/fonts` (its licence beside it), because plotters draws only in a font
//! it was given.

use std::sync::OnceLock;

use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{FontStyle, RGBColor, register_font};

/// Drawn at the width it is shown at in a mail (most clients show 600 px).
pub const WIDTH: u32 = 560;
const PANEL_HEIGHT: u32 = 200;

const FONT: &str = "DejaVu Sans";
static FONT_BYTES: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// A colour, as `#rrggbb` in the HTML legend and as pixels in the chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rgb(pub u8, pub u8, pub u8);

impl Rgb {
    pub fn css(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.0, self.1, self.2)
    }

    fn rgb(self) -> RGBColor {
        RGBColor(self.0, self.1, self.2)
    }
}

/// One bar: its label on the axis, its length, the value written at its end, its colour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bar {
    pub label: String,
    pub value: u32,
    pub value_label: String,
    pub color: Rgb,
}

/// A titled group of bars sharing one value axis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Panel {
    pub title: String,
    pub bars: Vec<Bar>,
}

#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    #[error("the bundled font cannot be read")]
    Font,
    #[error("cannot draw the chart: {0}")]
    Draw(String),
    #[error("cannot encode the chart as PNG")]
    Encode(#[from] png::EncodingError),
}

/// The height of a chart of `panels` panels, in pixels.
pub fn height(panels: usize) -> u32 {
    PANEL_HEIGHT * panels.max(1) as u32
}

/// The panels stacked top to bottom, as PNG bytes [`WIDTH`] pixels wide.
pub fn bar_panels(panels: &[Panel]) -> Result<Vec<u8>, ChartError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    if !*REGISTERED.get_or_init(|| register_font(FONT, FontStyle::Normal, FONT_BYTES).is_ok()) {
        return Err(ChartError::Font);
    }
    let height = height(panels.len());
    let mut rgb = vec![0xff; (WIDTH * height * 3) as usize];
    draw(&mut rgb, height, panels).map_err(|e| ChartError::Draw(e.to_string()))?;
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, WIDTH, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Best);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(&rgb)?;
    writer.finish()?;
    Ok(out)
}

fn draw(rgb: &mut [u8], height: u32, panels: &[Panel]) -> Result<(), Box<dyn std::error::Error>> {
    let root = BitMapBackend::with_buffer(rgb, (WIDTH, height)).into_drawing_area();
    root.fill(&WHITE)?;
    let areas = root.split_evenly((panels.len().max(1), 1));
    let axis_text = (FONT, 13).into_font().color(&RGBColor(0x33, 0x33, 0x33));
    for (area, panel) in areas.iter().zip(panels) {
        let count = panel.bars.len().max(1) as u32;
        let longest = panel.bars.iter().map(|b| b.value).max().unwrap_or(0).max(1);
        // Room after the longest bar for its value.
        let axis_end = longest + longest.div_ceil(6).max(1);
        let mut chart = ChartBuilder::on(area)
            .caption(
                &panel.title,
                (FONT, 15).into_font().style(FontStyle::Normal),
            )
            .margin_left(8)
            .margin_right(16)
            .margin_bottom(4)
            .x_label_area_size(22)
            .y_label_area_size(118)
            .build_cartesian_2d(0..axis_end, (0..count).into_segmented())?;
        let labels: Vec<&str> = panel.bars.iter().map(|b| b.label.as_str()).collect();
        // Segment 0 is at the bottom: the first bar goes in the top segment.
        let row = |i: usize| count - 1 - i as u32;
        let y_label = |v: &SegmentValue<u32>| match v {
            SegmentValue::CenterOf(i) => (count - 1)
                .checked_sub(*i)
                .and_then(|at| labels.get(at as usize))
                .map_or(String::new(), |label| label.to_string()),
            _ => String::new(),
        };
        let x_label = |v: &u32| v.to_string();
        chart
            .configure_mesh()
            .disable_y_mesh()
            .x_labels(axis_end.min(6) as usize)
            .y_labels(count as usize)
            .x_label_formatter(&x_label)
            .y_label_formatter(&y_label)
            .label_style(axis_text.clone())
            .light_line_style(RGBColor(0xee, 0xee, 0xee))
            .bold_line_style(RGBColor(0xdd, 0xdd, 0xdd))
            .axis_style(RGBColor(0x88, 0x88, 0x88))
            .draw()?;
        chart.draw_series(panel.bars.iter().enumerate().map(|(i, bar)| {
            let i = row(i);
            let mut rect = Rectangle::new(
                [
                    (0, SegmentValue::Exact(i)),
                    (bar.value, SegmentValue::Exact(i + 1)),
                ],
                bar.color.rgb().filled(),
            );
            rect.set_margin(4, 4, 0, 0);
            rect
        }))?;
        let value_text = axis_text.pos(Pos::new(HPos::Left, VPos::Center));
        chart.draw_series(panel.bars.iter().enumerate().map(|(i, bar)| {
            EmptyElement::at((bar.value, SegmentValue::CenterOf(row(i))))
                + Text::new(bar.value_label.clone(), (5, 0), value_text.clone())
        }))?;
    }
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn panel(title: &str, values: &[u32]) -> Panel {
        Panel {
            title: title.into(),
            bars: values
                .iter()
                .enumerate()
                .map(|(i, v)| Bar {
                    label: format!("bar {i}"),
                    value: *v,
                    value_label: v.to_string(),
                    color: Rgb(0x1f, 0x77, 0xb4),
                })
                .collect(),
        }
    }

    /// Decodes `png` and counts the pixels of `color`.
    fn pixels_of(png: &[u8], color: Rgb) -> (u32, u32, usize) {
        let decoder = png::Decoder::new(png);
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).unwrap();
        let count = buf[..info.buffer_size()]
            .chunks(3)
            .filter(|px| px == &[color.0, color.1, color.2])
            .count();
        (info.width, info.height, count)
    }

    #[test]
    fn bars_are_drawn_to_scale_with_text_around_them() {
        let one = bar_panels(&[panel("One", &[1, 0])]).unwrap();
        let four = bar_panels(&[panel("Four", &[4, 0])]).unwrap();
        let (width, height, short) = pixels_of(&one, Rgb(0x1f, 0x77, 0xb4));
        let (_, _, long) = pixels_of(&four, Rgb(0x1f, 0x77, 0xb4));
        assert_eq!((width, height), (WIDTH, PANEL_HEIGHT));
        assert!(short > 0, "a bar of 1 shows");
        // Axes end past the longest bar; 4 on a 0..5 axis is longer than 1 on 0..2.
        assert!(long > short, "{long} > {short}");
        // Text is drawn (anti-aliased grey pixels besides the bar colour and white).
        let decoder = png::Decoder::new(one.as_slice());
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size()];
        reader.next_frame(&mut buf).unwrap();
        let greys = buf
            .chunks(3)
            .filter(|px| px[0] == px[1] && px[1] == px[2] && px[0] < 0x80)
            .count();
        assert!(greys > 100, "labels and values are drawn: {greys}");
    }

    #[test]
    fn panels_stack() {
        let png = bar_panels(&[panel("A", &[1]), panel("B", &[2, 3])]).unwrap();
        let (_, height, _) = pixels_of(&png, Rgb(0, 0, 0));
        assert_eq!(height, 2 * PANEL_HEIGHT);
    }
}
