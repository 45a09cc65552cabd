//! Immediate, clean exit on SIGTERM and SIGINT, so `docker stop` / `docker restart` of the
//! stand-in (PID 1 in its container) take milliseconds instead of the 10 s kill timeout.

const SIGINT: i32 = 2;
const SIGTERM: i32 = 15;

unsafe extern "C" {
    fn signal(signum: i32, handler: extern "C" fn(i32)) -> usize;
    fn write(fd: i32, buf: *const u8, count: usize) -> isize;
    fn _exit(status: i32) -> !;
}

extern "C" fn on_terminate(_signum: i32) {
    const MESSAGE: &[u8] = b"INFO ? odoo.service.server: Initiating shutdown\n";
    // SAFETY: write(2) and _exit(2) are async-signal-safe; MESSAGE is a valid static buffer.
    unsafe {
        write(1, MESSAGE.as_ptr(), MESSAGE.len());
        _exit(0);
    }
}

/// Installs the handler for SIGTERM and SIGINT.
pub fn exit_on_terminate() {
    // SAFETY: `on_terminate` only calls async-signal-safe functions.
    unsafe {
        signal(SIGTERM, on_terminate);
        signal(SIGINT, on_terminate);
    }
}
