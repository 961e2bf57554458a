//! Text mode (`text=True`, `encoding=`, `errors=`), as `subprocess` does it:
//! the locale's encoding by default, universal newlines on output.

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use crate::convert;

#[derive(Debug, Clone)]
pub(crate) struct TextMode {
    encoding: String,
    errors: String,
}

impl TextMode {
    /// Text mode if `text` is true or an encoding or error handler is given.
    pub fn from_args(
        py: Python<'_>,
        text: bool,
        encoding: Option<&Bound<'_, PyAny>>,
        errors: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Option<TextMode>> {
        let encoding = encoding.filter(|e| !e.is_none()).map(|e| convert::string(e, "encoding")).transpose()?;
        let errors = errors.filter(|e| !e.is_none()).map(|e| convert::string(e, "errors")).transpose()?;
        if !text && encoding.is_none() && errors.is_none() {
            return Ok(None);
        }
        let encoding = match encoding {
            Some(e) => e,
            None => py.import("locale")?.call_method1("getpreferredencoding", (false,))?.extract()?,
        };
        Ok(Some(TextMode { encoding, errors: errors.unwrap_or_else(|| "strict".into()) }))
    }

    /// Decodes `data`, turning `\r\n` and `\r` into `\n`.
    pub fn decode(&self, py: Python<'_>, data: &[u8]) -> PyResult<Py<PyAny>> {
        let s = PyBytes::new(py, data).call_method1("decode", (&self.encoding, &self.errors))?;
        let s = s.call_method1("replace", ("\r\n", "\n"))?.call_method1("replace", ("\r", "\n"))?;
        Ok(s.unbind())
    }

    /// Encodes `s` (a `str`).
    pub fn encode(&self, s: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
        s.call_method1("encode", (&self.encoding, &self.errors))?.extract()
    }

    /// `io.TextIOWrapper` around the binary file `f`.
    pub fn wrap(&self, py: Python<'_>, f: &Bound<'_, PyAny>, write: bool) -> PyResult<Py<PyAny>> {
        let kwargs = PyDict::new(py);
        kwargs.set_item("encoding", &self.encoding)?;
        kwargs.set_item("errors", &self.errors)?;
        if write {
            kwargs.set_item("write_through", true)?;
        }
        Ok(py.import("io")?.getattr("TextIOWrapper")?.call((f,), Some(&kwargs))?.unbind())
    }
}
