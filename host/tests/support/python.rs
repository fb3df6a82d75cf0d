//! The Python interpreter of the cross-checks with onnx and onnxruntime. Included with `#[path]`
//! by the test `onnx_python` and the benchmark `tract_vs_ort` (not a test target of its own).
//!
//! Lookup, in this order:
//! 1. `$WATTEVO_PYTHON` when set, and then only it (a wrong setting is reported, not bypassed);
//!    `scripts/test.sh` sets it to the project's virtual environment;
//! 2. that environment, `target/python-venv/check/bin/python`, when `scripts/python-env.sh` has
//!    made it;
//! 3. `python3` on the PATH.
//!
//! The first that imports every module asked for is used.

use std::ffi::OsString;
use std::path::Path;
use std::process::Command;

/// The environment variable naming the interpreter.
pub const VAR: &str = "WATTEVO_PYTHON";

/// An interpreter that imports every one of `modules`, or why there is none.
pub fn find(modules: &[&str]) -> Result<OsString, String> {
    let import = format!("import {}", modules.join(", "));
    let imports =
        |python: &OsString| Command::new(python).args(["-c", &import]).output().is_ok_and(|out| out.status.success());
    if let Some(python) = std::env::var_os(VAR).filter(|python| !python.is_empty()) {
        if imports(&python) {
            return Ok(python);
        }
        return Err(format!("{VAR}={} cannot `{import}`", python.to_string_lossy()));
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/python-venv/check/bin/python");
    [venv.into_os_string(), OsString::from("python3")].into_iter().find(imports).ok_or_else(|| {
        format!(
            "{VAR} is not set and neither target/python-venv/check nor python3 can `{import}` \
             (scripts/python-env.sh makes that environment)"
        )
    })
}
