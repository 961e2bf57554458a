//! C ABI for containment (filled by the C-library issue).
