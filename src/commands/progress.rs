//! How the long commands (`update`, `verify`) show their progress: a bar on a terminal, and
//! otherwise a line at most every ten seconds (a log file would fill up with bar redraws).

use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a log line waits after the previous one (or after the start).
const LINE_EVERY: Duration = Duration::from_secs(10);

/// The bar's layout: the alias (and phase), the count of `unit`, the rate, the time left and the
/// command's message.
fn template(unit: &str) -> String {
    format!("{{prefix}} [{{bar:30}}] {{pos}}/{{len}} {unit}, {{per_sec}}, ETA {{eta}} {{msg}}")
}

/// The bar, or the clock of the log lines; each command says what its numbers mean.
pub struct Reporter {
    bar: Option<ProgressBar>,
    last_line: Mutex<Instant>,
}

impl Reporter {
    /// A bar counting `unit` ("rows", "documents") when stderr is a terminal.
    pub fn new(unit: &str) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(0);
            bar.set_style(
                ProgressStyle::with_template(&template(unit))
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            bar
        });
        Reporter {
            bar,
            last_line: Mutex::new(Instant::now()),
        }
    }

    /// The bar, when there is one.
    pub fn bar(&self) -> Option<&ProgressBar> {
        self.bar.as_ref()
    }

    /// Moves the bar to `done` with `message` after it (stretching it when the total was
    /// estimated short); without a bar, prints `line()` when one is due.
    pub fn advance(
        &self,
        done: u64,
        message: impl FnOnce() -> String,
        line: impl FnOnce() -> String,
    ) {
        if let Some(bar) = &self.bar {
            if bar.length().is_some_and(|l| done > l) {
                bar.set_length(done);
            }
            bar.set_position(done);
            bar.set_message(message());
            return;
        }
        let Ok(mut last) = self.last_line.lock() else {
            return;
        };
        if last.elapsed() < LINE_EVERY {
            return;
        }
        *last = Instant::now();
        eprintln!("{}", line());
    }

    /// Clears the bar, so that what the command prints next stands alone.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bar_counts_the_commands_unit_and_its_template_parses() {
        assert_eq!(
            template("rows"),
            "{prefix} [{bar:30}] {pos}/{len} rows, {per_sec}, ETA {eta} {msg}"
        );
        assert_eq!(
            template("documents"),
            "{prefix} [{bar:30}] {pos}/{len} documents, {per_sec}, ETA {eta} {msg}"
        );
        // A template that does not parse would fall back to the default bar without a word.
        assert!(ProgressStyle::with_template(&template("rows")).is_ok());
    }
}
