//! Memory of this process, read from `/proc/self/status` (Linux; absent elsewhere).

use serde::Serialize;

/// Resident memory now and at its peak.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProcessMemory {
    /// Resident set size (`VmRSS`), bytes.
    pub rss_bytes: Option<u64>,
    /// Peak resident set size (`VmHWM`), bytes.
    pub peak_rss_bytes: Option<u64>,
}

/// Reads the current process's memory; fields are `None` where `/proc` is unavailable.
pub fn memory() -> ProcessMemory {
    std::fs::read_to_string("/proc/self/status")
        .map(|text| parse(&text))
        .unwrap_or_default()
}

/// Parses the `VmRSS` and `VmHWM` lines (values in kB).
fn parse(status: &str) -> ProcessMemory {
    let field = |name: &str| {
        status.lines().find_map(|line| {
            let rest = line.strip_prefix(name)?.strip_prefix(':')?;
            let kib: u64 = rest.trim().trim_end_matches("kB").trim().parse().ok()?;
            Some(kib * 1024)
        })
    };
    ProcessMemory {
        rss_bytes: field("VmRSS"),
        peak_rss_bytes: field("VmHWM"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_status() {
        let text = "Name:\tastra\nVmPeak:\t  99 kB\nVmHWM:\t    2048 kB\nVmRSS:\t    1024 kB\n";
        assert_eq!(
            parse(text),
            ProcessMemory {
                rss_bytes: Some(1024 * 1024),
                peak_rss_bytes: Some(2048 * 1024)
            }
        );
        assert_eq!(parse("garbage"), ProcessMemory::default());
    }
}
