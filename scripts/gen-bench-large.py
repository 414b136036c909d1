#!/usr/bin/env python3
"""Generates scenarios/bench-large.yaml and its manifests under scenarios/bench-large/.

The output is committed, so the scenario loads on a fresh clone; rerun this script only to
change the benchmark. It is deterministic (a fixed seed), so reruns give identical files.
"""
import os
import random

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scenarios")
OUT = os.path.join(ROOT, "bench-large")
ZONES = ["us-east-1a", "us-east-1b", "us-east-1c"]
# (name, instance type, capacity type, initial nodes, max nodes, taint)
POOLS = [
    ("general-a", "m5.2xlarge", "on-demand", 90, 200, None),
    ("general-b", "m6i.2xlarge", "on-demand", 90, 200, None),
    ("compute", "c5.2xlarge", "on-demand", 50, 150, None),
    ("memory", "r5.2xlarge", "on-demand", 50, 150, "memory"),
    ("spot-general", "m5.2xlarge", "spot", 60, 150, "spot"),
    ("spot-compute", "c6i.2xlarge", "spot", 60, 150, "spot"),
]
TIERS = [("bench-tier-1", 1000000), ("bench-tier-2", 100000), ("bench-tier-3", 1000)]
N_DEPLOYMENTS = 300
N_CRONJOBS = 20
rng = random.Random(20240101)


def deployment(i):
    name = f"svc-{i:03d}"
    ns = f"team-{i % 12:02d}"
    pool = POOLS[i % len(POOLS)]
    tier = TIERS[0 if i % 10 == 0 else (1 if i % 3 else 2)][0]
    replicas = 12 + (i * 7) % 17
    cpu_m = [100, 150, 200, 250, 300, 400][i % 6]
    mem_mi = [128, 256, 384, 512, 768][i % 5]
    lines = [
        "---",
        "apiVersion: apps/v1",
        "kind: Deployment",
        f"metadata: {{name: {name}, namespace: {ns}}}",
        "spec:",
        f"  replicas: {replicas}",
        f"  selector: {{matchLabels: {{app: {name}}}}}",
        "  template:",
        f"    metadata: {{labels: {{app: {name}}}}}",
        "    spec:",
        f"      priorityClassName: {tier}",
        f"      nodeSelector: {{karpenter.sh/nodepool: {pool[0]}}}",
    ]
    if pool[5]:
        lines.append(f"      tolerations: [{{key: {pool[5]}, operator: Exists, effect: NoSchedule}}]")
    if i % 4 == 0:
        lines += [
            "      topologySpreadConstraints:",
            "        - {maxSkew: 1, topologyKey: topology.kubernetes.io/zone, whenUnsatisfiable: ScheduleAnyway,",
            f"           labelSelector: {{matchLabels: {{app: {name}}}}}}}",
        ]
    lines += [
        "      containers:",
        f"        - name: app",
        f"          image: example/{name}:1.0",
        "          resources:",
        f"            requests: {{cpu: {cpu_m}m, memory: {mem_mi}Mi}}",
        f"            limits: {{cpu: {cpu_m * 2}m, memory: {mem_mi * 2}Mi}}",
        "---",
        "apiVersion: autoscaling/v2",
        "kind: HorizontalPodAutoscaler",
        f"metadata: {{name: {name}, namespace: {ns}}}",
        "spec:",
        f"  scaleTargetRef: {{apiVersion: apps/v1, kind: Deployment, name: {name}}}",
        f"  minReplicas: {max(2, replicas // 2)}",
        f"  maxReplicas: {replicas * 2}",
        "  metrics:",
        "    - type: Resource",
        "      resource: {name: cpu, target: {type: Utilization, averageUtilization: 70}}",
    ]
    base_rps = replicas * 20
    per_pod_rps = 40
    cpu_per_rps = cpu_m * 0.6 / (base_rps / replicas)
    workload = [
        f"  {ns}/{name}:",
        "    load:",
        "      synthetic:",
        f"        baseRps: {base_rps}",
        f"        daily: {{amplitude: {0.3 + (i % 5) * 0.1:.1f}, peakHour: {12 + i % 8}}}",
        f"        weekly: {{amplitude: {0.1 + (i % 3) * 0.1:.1f}}}",
        f"        noise: {0.02 + (i % 4) * 0.02:.2f}",
        f"    capacity: {{cpuBaseline: 20m, cpuPerRps: {cpu_per_rps:.2f}m, memoryBaseline: {mem_mi // 2}Mi, memoryPerRps: 256Ki, maxRpsPerPod: {per_pod_rps}}}",
    ]
    return "\n".join(lines), "\n".join(workload)


def cronjob(i):
    name = f"cron-{i:02d}"
    schedules = ["0 * * * *", "*/30 * * * *", "15 */2 * * *", "0 3 * * *", "45 1 * * MON-FRI"]
    pool = POOLS[4 + i % 2]
    lines = [
        "---",
        "apiVersion: batch/v1",
        "kind: CronJob",
        f"metadata: {{name: {name}, namespace: batch}}",
        "spec:",
        f'  schedule: "{schedules[i % len(schedules)]}"',
        f"  concurrencyPolicy: {['Allow', 'Forbid', 'Replace'][i % 3]}",
        "  jobTemplate:",
        "    spec:",
        f"      parallelism: {1 + i % 4}",
        f"      completions: {1 + i % 4}",
        "      backoffLimit: 3",
        "      template:",
        "        spec:",
        "          priorityClassName: bench-tier-3",
        "          restartPolicy: OnFailure",
        f"          nodeSelector: {{karpenter.sh/nodepool: {pool[0]}}}",
        "          tolerations: [{key: spot, operator: Exists, effect: NoSchedule}]",
        "          containers:",
        "            - name: job",
        "              image: example/batch:1.0",
        f"              resources: {{requests: {{cpu: {500 + 250 * (i % 3)}m, memory: 1Gi}}}}",
    ]
    workload = [
        f"  batch/{name}:",
        f"    runTime: {{lognormal: {{median: {5 + i % 20}m, sigma: 0.4}}}}",
        f"    failureProbability: {0.02 * (i % 4):.2f}",
    ]
    return "\n".join(lines), "\n".join(workload)


def main():
    os.makedirs(OUT, exist_ok=True)
    header = "# Generated by scripts/gen-bench-large.py; do not edit by hand.\n"
    with open(os.path.join(OUT, "priority-classes.yaml"), "w") as f:
        f.write(header)
        for name, value in TIERS:
            f.write(f"---\napiVersion: scheduling.k8s.io/v1\nkind: PriorityClass\nmetadata: {{name: {name}}}\nvalue: {value}\n")
    deployments = [deployment(i) for i in range(N_DEPLOYMENTS)]
    with open(os.path.join(OUT, "deployments.yaml"), "w") as f:
        f.write(header + "\n".join(d for d, _ in deployments) + "\n")
    cronjobs = [cronjob(i) for i in range(N_CRONJOBS)]
    with open(os.path.join(OUT, "cronjobs.yaml"), "w") as f:
        f.write(header + "\n".join(c for c, _ in cronjobs) + "\n")
    pools = []
    for name, itype, cap, initial, maximum, taint in POOLS:
        pools += [
            f"  - name: {name}",
            f"    instanceType: {itype}",
            f"    capacityType: {cap}",
            f"    zones: [{', '.join(ZONES)}]",
            f"    minNodes: {initial // 2}",
            f"    maxNodes: {maximum}",
            f"    initialNodes: {initial}",
            "    daemonsetOverhead: {cpu: 200m, memory: 300Mi, pods: 4}",
        ]
        if taint:
            pools.append(f"    taints: [{{key: {taint}, value: \"true\", effect: NoSchedule}}]")
    scenario = [
        "# yaml-language-server: $schema=../schema/scenario.schema.json",
        "# Generated by scripts/gen-bench-large.py; do not edit by hand.",
        "# The benchmark: 30 days, 6 node pools over 3 zones (up to 1,000 nodes), 300 Deployments",
        "# with HPAs and diurnal synthetic load (about 10,000 pods at peak), 20 CronJobs.",
        "name: bench-large",
        "seed: 1",
        "duration: 30d",
        "step: 1m",
        'start: "2024-01-01T00:00:00Z"',
        "settings:",
        "  eventBudget: 500000000",
        "nodePools:",
        *pools,
        "manifests:",
        "  - path: bench-large/priority-classes.yaml",
        "  - path: bench-large/deployments.yaml",
        "  - path: bench-large/cronjobs.yaml",
        "startup:",
        "  imagePull: {lognormal: {median: 3s, sigma: 0.5}}",
        "  readinessDelay: {constant: 10s}",
        "workloads:",
        *[w for _, w in deployments],
        *[w for _, w in cronjobs],
        "slos:",
        "  demandServedMin: 0.99",
        "",
    ]
    with open(os.path.join(ROOT, "bench-large.yaml"), "w") as f:
        f.write("\n".join(scenario))
    # The same cluster and workloads with the node autoscaler on: HPAs and the
    # cluster-autoscaler (default flags), each pool a node group per zone.
    autoscaled = []
    for line in scenario:
        if line == "name: bench-large":
            line = "name: bench-large-autoscaled"
        elif line.startswith("# The benchmark:"):
            autoscaled.append("# bench-large (see bench-large.yaml) with the cluster-autoscaler on.")
        autoscaled.append(line)
        if line == "  eventBudget: 500000000":
            autoscaled += ["  nodeAutoscaler:", "    clusterAutoscaler: {}"]
    with open(os.path.join(ROOT, "bench-large-autoscaled.yaml"), "w") as f:
        f.write("\n".join(autoscaled))
    write_karpenter(scenario)


def nodepool(name, itype, cap, initial, maximum, taint):
    """One pool of bench-large as a karpenter.sh/v1 NodePool pinned to its instance type."""
    lines = [
        "---",
        "apiVersion: karpenter.sh/v1",
        "kind: NodePool",
        "metadata:",
        f"  name: {name}",
        f'  annotations: {{headroom.io/initial-nodes: "{itype}{":spot" if cap == "spot" else ""}={initial}"}}',
        "spec:",
        "  template:",
        "    spec:",
        "      nodeClassRef: {group: karpenter.k8s.aws, kind: EC2NodeClass, name: default}",
        "      requirements:",
        f"        - {{key: node.kubernetes.io/instance-type, operator: In, values: [{itype}]}}",
        f"        - {{key: karpenter.sh/capacity-type, operator: In, values: [{cap}]}}",
        f"        - {{key: topology.kubernetes.io/zone, operator: In, values: [{', '.join(ZONES)}]}}",
    ]
    if taint:
        lines.append(f'      taints: [{{key: {taint}, value: "true", effect: NoSchedule}}]')
    lines += [
        "  disruption:",
        "    consolidationPolicy: WhenEmptyOrUnderutilized",
        "    consolidateAfter: 5m",
        "  limits:",
        f'    cpu: "{maximum * 8}"',
    ]
    return "\n".join(lines)


def write_karpenter(scenario):
    """bench-large under Karpenter: the six pools as NodePools, the same workloads."""
    os.makedirs(os.path.join(ROOT, "bench-large-karpenter"), exist_ok=True)
    with open(os.path.join(ROOT, "bench-large-karpenter", "nodepools.yaml"), "w") as f:
        f.write("# Generated by scripts/gen-bench-large.py; do not edit by hand.\n")
        f.write("\n".join(nodepool(*p) for p in POOLS) + "\n")
    out, skipping = [], False
    for line in scenario:
        if line == "name: bench-large":
            line = "name: bench-large-karpenter"
        elif line.startswith("# The benchmark:"):
            out.append("# bench-large (see bench-large.yaml) under Karpenter: its pools as NodePools.")
        if skipping and not line.startswith(" "):
            skipping = False
        if skipping:
            continue
        if line == "nodePools:":
            out.append("nodePools: []")
            skipping = True
            continue
        out.append(line)
        if line == "  eventBudget: 500000000":
            out += [
                "  nodeAutoscaler:",
                "    karpenter:",
                f"      zones: [{', '.join(ZONES)}]",
                "      daemonsetOverhead: {cpu: 200m, memory: 300Mi, pods: 4}",
            ]
        if line == "manifests:":
            out.append("  - path: bench-large-karpenter/nodepools.yaml")
    with open(os.path.join(ROOT, "bench-large-karpenter.yaml"), "w") as f:
        f.write("\n".join(out))


if __name__ == "__main__":
    main()
