//! Raw handler structure: YAML nodes -> lists, items and mapping entries, still unvalidated.
