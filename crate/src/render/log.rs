//! The kernel log as text, like `makedumpfile --dump-dmesg`.

use crate::kernel::printk::{plain_text, LogRecord};

/// `crashlens log`: the records as `makedumpfile --dump-dmesg` prints them.
pub fn render(records: &[LogRecord]) -> String {
    plain_text(records)
}
