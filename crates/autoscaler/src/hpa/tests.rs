//! Table-driven tests of the HPA engine, from the Kubernetes test vectors and derived cases.
