//! The load benchmark: leadbot on real parts — a private PostgreSQL (fsync on), Dovecot and
//! Postfix on loopback — each figure measured beside its floor in the same run, rounds
//! interleaved so that a busy moment of the machine hits both alike.
//!
//! ```text
//! cargo bench --bench load                      # the full run (BENCHMARKS.md says how long)
//! cargo bench --bench load -- --quick           # small sizes, one round: about a minute
//! cargo bench --bench load -- backlog sweep     # only these figures
//! cargo bench --bench load -- --help            # every size and its environment variable
//! ```
//!
//! It starts and stops everything itself, uses loopback only, and every wait is bounded.

#[allow(dead_code)]
#[path = "../../tests/support/mailstack.rs"]
mod mailstack;

mod figures;
mod harness;
mod report;
mod seed;
mod smtp_watch;

use clap::Parser;

use harness::Bench;
use report::{Figure, Table};

/// Sizes and rounds; each flag also reads an environment variable.
#[derive(Debug, Parser)]
#[command(
    name = "load",
    about = "leadbot's load benchmark: each figure beside its floor"
)]
pub struct Options {
    /// Small sizes and one round, to check that everything works (about a minute).
    #[arg(long, env = "LEADBOT_BENCH_QUICK")]
    quick: bool,
    /// Rounds; each runs every figure and its floor once (default 3, quick 1).
    #[arg(long, env = "LEADBOT_BENCH_ROUNDS")]
    rounds: Option<usize>,
    /// RFIs waiting in the mailbox when the daemon starts (default 2000, quick 200).
    #[arg(long, env = "LEADBOT_BENCH_BACKLOG")]
    backlog: Option<usize>,
    /// Leads already in the database for the cost-per-message figure, comma-separated
    /// (default 0,10000,100000; quick 0,2000,10000).
    #[arg(long, env = "LEADBOT_BENCH_HISTORY", value_delimiter = ',')]
    history: Option<Vec<usize>>,
    /// RFIs ingested at each history size (default 300, quick 50).
    #[arg(long, env = "LEADBOT_BENCH_HISTORY_RFIS")]
    history_rfis: Option<usize>,
    /// RFIs sent one at a time for the latency figures (default 20, quick 4).
    #[arg(long, env = "LEADBOT_BENCH_LATENCY_SAMPLES")]
    latency_samples: Option<usize>,
    /// Mails queued for `outbox flush` (default 2000, quick 200).
    #[arg(long, env = "LEADBOT_BENCH_OUTBOX")]
    outbox: Option<usize>,
    /// Leads in the database for the scheduler sweep and the idle tick (default 1000000,
    /// quick 20000).
    #[arg(long, env = "LEADBOT_BENCH_SWEEP_LEADS")]
    sweep_leads: Option<usize>,
    /// Of those, leads due to expire (default 100000, quick 2000).
    #[arg(long, env = "LEADBOT_BENCH_SWEEP_DUE")]
    sweep_due: Option<usize>,
    /// `leadbot deliver` processes, and as many `psql` ones (default 200, quick 20).
    #[arg(long, env = "LEADBOT_BENCH_DELIVERIES")]
    deliveries: Option<usize>,
    /// The sweep figure also prints the plans (EXPLAIN ANALYZE, BUFFERS) of the scheduler's
    /// claim queries, its thread lookup and the /metrics counts, before and after the sweep.
    #[arg(long, env = "LEADBOT_BENCH_PLANS")]
    plans: bool,
    /// Figures to run (all when none): backlog, history, latency, outbox, sweep, deliver.
    /// RSS is read during backlog (under load) and latency (idle).
    figures: Vec<Figure>,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

/// The sizes of one run, defaults filled in.
#[derive(Debug, Clone)]
pub struct Sizes {
    pub rounds: usize,
    pub backlog: usize,
    pub history: Vec<usize>,
    pub history_rfis: usize,
    pub latency_samples: usize,
    pub outbox: usize,
    pub sweep_leads: usize,
    pub sweep_due: usize,
    pub deliveries: usize,
    pub plans: bool,
}

impl Options {
    fn sizes(&self) -> Sizes {
        let pick = |given: Option<usize>, full: usize, quick: usize| {
            given.unwrap_or(if self.quick { quick } else { full })
        };
        let sizes = Sizes {
            rounds: pick(self.rounds, 3, 1).max(1),
            backlog: pick(self.backlog, 2_000, 200).max(2),
            history: self.history.clone().unwrap_or_else(|| {
                if self.quick {
                    vec![0, 2_000, 10_000]
                } else {
                    vec![0, 10_000, 100_000]
                }
            }),
            history_rfis: pick(self.history_rfis, 300, 50).max(1),
            latency_samples: pick(self.latency_samples, 20, 4).max(1),
            outbox: pick(self.outbox, 2_000, 200).max(1),
            sweep_leads: pick(self.sweep_leads, 1_000_000, 20_000),
            sweep_due: pick(self.sweep_due, 100_000, 2_000),
            deliveries: pick(self.deliveries, 200, 20).max(1),
            plans: self.plans,
        };
        assert!(
            sizes.sweep_due <= sizes.sweep_leads,
            "--sweep-due ({}) cannot exceed --sweep-leads ({})",
            sizes.sweep_due,
            sizes.sweep_leads
        );
        sizes
    }

    fn wants(&self, figure: Figure) -> bool {
        self.figures.is_empty() || self.figures.contains(&figure)
    }
}

#[tokio::main]
async fn main() {
    let options = Options::parse();
    let sizes = options.sizes();
    println!("leadbot load benchmark: {sizes:?}");
    let started = std::time::Instant::now();
    let bench = Bench::start().await;
    println!(
        "PostgreSQL {} (private, fsync on) on port {}; Dovecot + Postfix in {}",
        bench.server_version().await,
        bench.cluster.port(),
        bench.stack.dir().display()
    );

    let mut table = Table::default();
    let mut sweep_seed = None;
    for round in 0..sizes.rounds {
        // Alternate which side goes first, so that a figure and its floor share the luck.
        let floor_first = round % 2 == 1;
        println!("round {} of {}", round + 1, sizes.rounds);
        if options.wants(Figure::Backlog) {
            bench.settle().await;
            figures::backlog::run(&bench, &sizes, round, floor_first, &mut table).await;
        }
        if options.wants(Figure::History) {
            bench.settle().await;
            figures::history::run(&bench, &sizes, round, &mut table).await;
        }
        if options.wants(Figure::Latency) {
            bench.settle().await;
            figures::latency::run(&bench, &sizes, round, &mut table).await;
        }
        if options.wants(Figure::Outbox) {
            bench.settle().await;
            figures::outbox::run(&bench, &sizes, round, floor_first, &mut table).await;
        }
        if options.wants(Figure::Sweep) {
            bench.settle().await;
            let seed = match sweep_seed.take() {
                Some(seed) => seed,
                None => figures::sweep::seed(&bench, &sizes).await,
            };
            figures::sweep::run(&bench, &seed, round, floor_first, &mut table).await;
            sweep_seed = Some(seed);
        }
        if options.wants(Figure::Deliver) {
            bench.settle().await;
            figures::deliver::run(&bench, &sizes, round, &mut table).await;
        }
    }
    if let Some(seed) = sweep_seed {
        bench.drop_database(&seed.template).await;
    }

    println!(
        "\n{} round(s), {:.0} s in all; value and floor are medians over the rounds.\n",
        sizes.rounds,
        started.elapsed().as_secs_f64()
    );
    print!("{}", table.markdown());
}
