//! Host probe: the machine the agent runs on, read through sysinfo.

use jiff::Timestamp;
use ronda_wire::{Disk, Host, Memory, Temperature};
use sysinfo::{Components, Disks, System};

/// Keeps sysinfo's handles between rounds: CPU usage is a difference between
/// two readings, and re-listing disks and sensors every round costs memory.
pub struct HostProbe {
    system: System,
    disks: Disks,
    components: Components,
}

impl HostProbe {
    /// Fails only where sysinfo does not support the platform at all.
    pub fn new() -> Result<Self, sysinfo::Error> {
        let mut system = System::new()?;
        system.refresh_cpu_usage();
        Ok(HostProbe {
            system,
            disks: Disks::new_with_refreshed_list()?,
            components: Components::new_with_refreshed_list()?,
        })
    }

    /// Wait long enough for the first CPU reading to mean something. Only the
    /// one-shot `probe` command needs this; a running agent has its interval.
    pub async fn settle(&mut self) {
        tokio::time::sleep(sysinfo::MINIMUM_CPU_UPDATE_INTERVAL).await;
    }

    pub fn read(&mut self) -> Host {
        self.system.refresh_cpu_usage();
        self.system.refresh_memory();
        self.disks.refresh(true);
        self.components.refresh(true);
        // A reading the platform cannot give is reported as zero or empty
        // rather than failing the whole report.
        let load = System::load_average().unwrap_or(sysinfo::LoadAvg {
            one: 0.0,
            five: 0.0,
            fifteen: 0.0,
        });
        let uptime_s = System::uptime().unwrap_or_default();
        let boot_time = System::boot_time()
            .ok()
            .and_then(|s| i64::try_from(s).ok())
            .and_then(|s| Timestamp::from_second(s).ok())
            .unwrap_or(Timestamp::UNIX_EPOCH);
        Host {
            hostname: System::host_name().unwrap_or_default(),
            os: System::long_os_version().unwrap_or_default(),
            kernel: System::kernel_version().unwrap_or_default(),
            uptime_s,
            boot_time,
            load: [load.one, load.five, load.fifteen].map(|l| if l.is_finite() { l } else { 0.0 }),
            // JSON has no NaN: a reading that is not a number becomes 0.
            cpu_percent: finite(self.system.global_cpu_usage()),
            cpu_count: self.system.cpus().len(),
            memory: Memory {
                total_bytes: self.system.total_memory(),
                available_bytes: self.system.available_memory(),
                swap_total_bytes: self.system.total_swap(),
                swap_used_bytes: self.system.used_swap(),
            },
            disks: self.disks(),
            temperatures: self.temperatures(),
        }
    }

    fn disks(&self) -> Vec<Disk> {
        self.disks
            .iter()
            .map(|d| Disk {
                mount: d.mount_point().display().to_string(),
                fs: d.file_system().to_string_lossy().into_owned(),
                total_bytes: d.total_space(),
                available_bytes: d.available_space(),
            })
            .collect()
    }

    fn temperatures(&self) -> Vec<Temperature> {
        self.components
            .iter()
            .filter_map(|c| {
                Some(Temperature {
                    label: c.label().to_owned(),
                    celsius: c.temperature().filter(|t| t.is_finite())?,
                    critical_celsius: c.critical().filter(|t| t.is_finite()),
                })
            })
            .collect()
    }
}

fn finite(x: f32) -> f32 {
    if x.is_finite() {
        x
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reads_this_machine() {
        let mut probe = HostProbe::new().unwrap();
        probe.settle().await;
        let host = probe.read();
        assert!(!host.hostname.is_empty());
        assert!(host.uptime_s > 0);
        assert!(host.cpu_count > 0);
        assert!(host.memory.total_bytes >= host.memory.available_bytes);
        assert!(host.memory.total_bytes > 0);
        assert!(
            host.disks.iter().any(|d| d.total_bytes > 0),
            "{:?}",
            host.disks
        );
        assert!(host.boot_time < Timestamp::now());
    }
}
