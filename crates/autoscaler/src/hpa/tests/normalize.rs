//! Normalization cases: stabilization, rate limits, stores and conditions (placeholder).
