//! The built-in AWS EC2 catalog (us-east-1): allocatable, prices and spot data per instance
//! type, embedded from `data/catalog/aws-us-east-1.csv` (see that folder's README).

use std::sync::OnceLock;

use autoscaler::model::Resources;

use crate::scenario::model::InstanceType;

const CATALOG_CSV: &str = include_str!("../../../../data/catalog/aws-us-east-1.csv");

/// ENI limits of the types whose allocatable the source lacks: (type, ENIs, IPv4 per ENI).
const ENI_LIMITS: &[(&str, i64, i64)] = &[
    ("p3.2xlarge", 4, 15),
    ("p3.8xlarge", 8, 30),
    ("p3.16xlarge", 8, 30),
];

const MIB: i64 = 1024 * 1024;

/// Every instance type of the catalog, sorted by name.
pub struct Catalog {
    types: Vec<InstanceType>,
}

/// The embedded catalog, parsed once.
pub fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(|| Catalog::parse(CATALOG_CSV))
}

impl Catalog {
    /// Parses the embedded CSV. It ships with the binary, so a malformed row is a bug.
    fn parse(text: &str) -> Catalog {
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let mut types: Vec<InstanceType> = reader
            .records()
            .map(|r| parse_row(&r.expect("embedded catalog is valid CSV")))
            .collect();
        types.sort_by(|a, b| a.name.cmp(&b.name));
        Catalog { types }
    }

    pub fn get(&self, name: &str) -> Option<&InstanceType> {
        self.types
            .binary_search_by(|t| t.name.as_str().cmp(name))
            .ok()
            .map(|i| &self.types[i])
    }

    pub fn types(&self) -> &[InstanceType] {
        &self.types
    }
}

fn parse_row(r: &csv::StringRecord) -> InstanceType {
    let int = |i: usize| -> Option<i64> {
        r.get(i)
            .filter(|s| !s.is_empty())
            .map(|s| s.parse().expect("integer"))
    };
    let float = |i: usize| -> f64 {
        r.get(i)
            .filter(|s| !s.is_empty())
            .map_or(0.0, |s| s.parse().expect("number"))
    };
    let name = r[0].to_string();
    let (vcpu, memory_mib) = (int(2).expect("vcpu"), int(3).expect("memory_mib"));
    let gpu = int(5).unwrap_or(0);
    let allocatable = match (int(6), int(7), int(8)) {
        (Some(cpu_m), Some(mem_mib), Some(pods)) => Resources {
            cpu_m,
            memory_bytes: mem_mib * MIB,
            gpu,
            pods,
        },
        _ => {
            let &(_, enis, ips) = ENI_LIMITS
                .iter()
                .find(|(n, _, _)| *n == name)
                .expect("every catalog row without allocatable has ENI limits");
            Resources {
                gpu,
                ..eks_allocatable(vcpu, memory_mib, eni_max_pods(enis, ips))
            }
        }
    };
    InstanceType {
        name,
        family: r[1].to_string(),
        vcpu,
        memory_mib,
        arch: r[4].to_string(),
        gpu_count: gpu,
        allocatable,
        on_demand_usd_per_hour: float(9),
        spot_savings_pct: float(10),
        spot_interruption_label: r.get(11).filter(|s| !s.is_empty()).map(str::to_string),
    }
}

/// The AWS VPC CNI's max-pods: each ENI but the primary address of each gives pod IPs, plus
/// two host-network pods.
pub fn eni_max_pods(enis: i64, ipv4_per_eni: i64) -> i64 {
    enis * (ipv4_per_eni - 1) + 2
}

/// Allocatable of an EKS node as Karpenter computes it with default settings: capacity less
/// the VM memory overhead (7.5 %, rounded up to a MiB), kube-reserved CPU (6 % of the first
/// core, 1 % of the second, 0.5 % of cores 3-4, 0.25 % above), kube-reserved memory
/// (11 MiB per pod + 255 MiB) and the 100 MiB hard-eviction threshold. `gpu` is left 0.
pub fn eks_allocatable(vcpu: i64, memory_mib: i64, max_pods: i64) -> Resources {
    let cpu_m = vcpu * 1000;
    // (upper bound of the tier in millicores, reserved share in units of 1/10_000).
    let tiers = [(1000, 600), (2000, 100), (4000, 50), (i64::MAX, 25)];
    let (mut reserved_cpu_m, mut lower) = (0, 0);
    for (upper, share) in tiers {
        if cpu_m > lower {
            reserved_cpu_m += (cpu_m.min(upper) - lower) * share / 10_000;
        }
        lower = upper;
    }
    let vm_overhead_mib = (memory_mib * 75 + 999) / 1000;
    let memory_mib_left = memory_mib - vm_overhead_mib - (11 * max_pods + 255) - 100;
    Resources {
        cpu_m: cpu_m - reserved_cpu_m,
        memory_bytes: memory_mib_left * MIB,
        gpu: 0,
        pods: max_pods,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The formula against the published allocatable of a type (its ENI-derived max-pods).
    fn check(name: &str, enis: i64, ipv4_per_eni: i64) {
        let t = catalog()
            .get(name)
            .unwrap_or_else(|| panic!("{name} in catalog"));
        let derived = eks_allocatable(t.vcpu, t.memory_mib, eni_max_pods(enis, ipv4_per_eni));
        assert_eq!(
            derived,
            Resources {
                gpu: 0,
                ..t.allocatable
            },
            "{name}"
        );
    }

    #[test]
    fn formula_reproduces_published_rows() {
        let table = [
            ("m5.large", 3, 10),
            ("m5.xlarge", 4, 15),
            ("m5.2xlarge", 4, 15),
            ("m5.12xlarge", 8, 30),
            ("m5.16xlarge", 15, 50),
            ("t3.large", 3, 12),
            ("t3.medium", 3, 6),
            ("r5.xlarge", 4, 15),
            ("c5.2xlarge", 4, 15),
            ("g4dn.xlarge", 3, 10),
        ];
        for (name, enis, ips) in table {
            check(name, enis, ips);
        }
    }

    #[test]
    fn p3_rows_are_derived() {
        let p3 = catalog().get("p3.2xlarge").unwrap();
        assert_eq!(
            p3.allocatable,
            Resources {
                cpu_m: 7910,
                memory_bytes: 56_786 * MIB,
                gpu: 1,
                pods: 58
            }
        );
        assert_eq!(catalog().get("p3.16xlarge").unwrap().allocatable.gpu, 8);
    }

    #[test]
    fn lookups() {
        let m5 = catalog().get("m5.large").unwrap();
        assert_eq!(
            (
                m5.on_demand_usd_per_hour,
                m5.allocatable.cpu_m,
                m5.arch.as_str()
            ),
            (0.096, 1930, "amd64")
        );
        assert!(catalog().get("m5.huge").is_none());
        assert_eq!(catalog().types().len(), 233);
    }
}
