//! The digest's chart: bars drawn into an RGB pixel buffer, encoded by [`super::png`].
//! No text in the image: the labels go in the HTML around it, where they can be translated,
//! read by screen readers and copied.

use super::png;

pub const WIDTH: u32 = 300;
pub const HEIGHT: u32 = 110;

type Rgb = [u8; 3];
const BACKGROUND: Rgb = [0xff, 0xff, 0xff];
const AXIS: Rgb = [0x99, 0x99, 0x99];
/// Bar colours, in order; the HTML legend uses the same ones.
pub const PALETTE: [Rgb; 6] = [
    [0x42, 0x85, 0xf4],
    [0x0f, 0x9d, 0x58],
    [0xdb, 0x44, 0x37],
    [0x9e, 0x9e, 0x9e],
    [0xf4, 0xb4, 0x00],
    [0x7b, 0x1f, 0xa2],
];

/// The colour of bar `i` as `#rrggbb`, for the legend.
pub fn css_color(i: usize) -> String {
    let [r, g, b] = PALETTE[i % PALETTE.len()];
    format!("#{r:02x}{g:02x}{b:02x}")
}

/// A white canvas to draw rectangles on.
struct Canvas {
    width: u32,
    height: u32,
    rgb: Vec<u8>,
}

impl Canvas {
    fn new(width: u32, height: u32) -> Self {
        let rgb = BACKGROUND.repeat((width * height) as usize);
        Self { width, height, rgb }
    }

    /// Fills `[x, x + w) × [y, y + h)`, clipped to the canvas.
    fn fill(&mut self, x: u32, y: u32, w: u32, h: u32, color: Rgb) {
        for row in y..(y + h).min(self.height) {
            for col in x..(x + w).min(self.width) {
                let at = ((row * self.width + col) * 3) as usize;
                self.rgb[at..at + 3].copy_from_slice(&color);
            }
        }
    }
}

/// Side-by-side panels of bars; each panel is scaled to its own tallest bar, and bar `i` of
/// every panel has colour `PALETTE[i]`.
pub fn bar_panels(panels: &[&[usize]]) -> Vec<u8> {
    let mut canvas = Canvas::new(WIDTH, HEIGHT);
    let (margin, gap) = (6, 14);
    let count = panels.len().max(1) as u32;
    let panel_width = (WIDTH - 2 * margin - gap * (count - 1)) / count;
    let baseline = HEIGHT - margin;
    let tallest_bar = baseline - margin;
    for (p, bars) in panels.iter().enumerate() {
        let left = margin + p as u32 * (panel_width + gap);
        canvas.fill(left, baseline, panel_width, 1, AXIS);
        let slots = bars.len().max(1) as u32;
        let slot = panel_width / slots;
        let top = bars.iter().copied().max().unwrap_or(0).max(1) as u64;
        for (i, value) in bars.iter().enumerate() {
            let height = (*value as u64 * u64::from(tallest_bar)).div_ceil(top) as u32;
            let x = left + i as u32 * slot + slot / 6;
            let color = PALETTE[i % PALETTE.len()];
            canvas.fill(x, baseline - height, slot - slot / 3, height, color);
        }
    }
    // The canvas always has WIDTH × HEIGHT × 3 bytes, which the encoder accepts.
    png::encode_rgb(canvas.width, canvas.height, &canvas.rgb).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_are_drawn_in_their_colours() {
        let image = bar_panels(&[&[1, 4], &[0, 2, 2]]);
        assert!(image.starts_with(b"\x89PNG"));
        let mut canvas = Canvas::new(4, 2);
        canvas.fill(1, 1, 10, 10, PALETTE[0]);
        assert_eq!(canvas.rgb[..3], BACKGROUND);
        assert_eq!(canvas.rgb[(4 + 1) * 3..(4 + 1) * 3 + 3], PALETTE[0]);
        assert_eq!(css_color(1), "#0f9d58");
    }
}
