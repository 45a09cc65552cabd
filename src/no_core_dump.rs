//! Keeps secrets out of core dumps: the process (and every child it starts, which
//! inherits the limit) gets a core size limit of 0, and the process is marked not
//! dumpable, so a crash writes no core file holding a password or vault plaintext and
//! another process of the same user cannot attach to read its memory.

/// Sets `RLIMIT_CORE` to 0 (soft and hard) and `PR_SET_DUMPABLE` to 0.
///
/// # Errors
/// The system call's error, as text (the caller warns; the run goes on).
pub fn forbid_core_dumps() -> Result<(), String> {
    let none = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `setrlimit` reads the struct we pass and nothing else.
    if unsafe { libc::setrlimit(libc::RLIMIT_CORE, &raw const none) } != 0 {
        return Err(format!(
            "setrlimit(RLIMIT_CORE, 0): {}",
            std::io::Error::last_os_error()
        ));
    }
    // SAFETY: `prctl(PR_SET_DUMPABLE, 0)` takes plain integers and changes only this
    // process's dumpable flag.
    if unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) } != 0 {
        return Err(format!(
            "prctl(PR_SET_DUMPABLE, 0): {}",
            std::io::Error::last_os_error()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_core_limit_is_zero_afterwards() {
        super::forbid_core_dumps().expect("setrlimit and prctl succeed");
        let mut now = libc::rlimit {
            rlim_cur: 1,
            rlim_max: 1,
        };
        // SAFETY: `getrlimit` writes the struct we pass.
        assert_eq!(
            unsafe { libc::getrlimit(libc::RLIMIT_CORE, &raw mut now) },
            0
        );
        assert_eq!((now.rlim_cur, now.rlim_max), (0, 0));
        // SAFETY: plain integer arguments.
        assert_eq!(unsafe { libc::prctl(libc::PR_GET_DUMPABLE, 0, 0, 0, 0) }, 0);
    }
}
