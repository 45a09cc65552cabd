//! Which of a file's two dated backup names a run uses (`host::backups::backup_candidates`):
//! beside the file, unless nginx could load that name. Pure; `compute` calls it for every
//! file that exists.

use crate::edit::nginx;
use crate::host::backups::backup_candidates;

/// `<file>.backup-YYYY-MM-DD` beside the file, unless nginx could load it: then under
/// `/var/lib/wsdeploy/backups/YYYY-MM-DD/<absolute path>`. With the configuration read
/// (`include_globs` from `nginx -T`), that is when an include glob matches the name;
/// without it (a play with no nginx step), whenever the file is in an nginx tree (a
/// directory named `nginx*` on its path), since nothing tells what nginx includes there.
#[must_use]
pub fn backup_path(
    real: &str,
    today: chrono::NaiveDate,
    include_globs: Option<&[String]>,
) -> String {
    let [beside, in_state_dir] = backup_candidates(real, today);
    let loadable = match include_globs {
        Some(globs) => globs.iter().any(|g| nginx::glob_match(g, &beside)),
        None => in_nginx_tree(real),
    };
    if loadable { in_state_dir } else { beside }
}

/// Whether a directory on `path` is named like an nginx configuration tree
/// (`/etc/nginx`, `/usr/local/nginx`, `/opt/nginx-1.24`).
fn in_nginx_tree(path: &str) -> bool {
    let mut dirs: Vec<&str> = path.split('/').collect();
    dirs.pop();
    dirs.iter().any(|d| d.starts_with("nginx"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backups_avoid_include_globs() {
        let day = chrono::NaiveDate::from_ymd_opt(2025, 12, 31).unwrap();
        let globs = vec![
            "/etc/nginx/sites-enabled/*".to_owned(),
            "/etc/nginx/conf.d/*.conf".to_owned(),
        ];
        assert_eq!(
            backup_path("/etc/nginx/nginx.conf", day, Some(&globs)),
            "/etc/nginx/nginx.conf.backup-2025-12-31"
        );
        assert_eq!(
            backup_path("/etc/nginx/sites-enabled/odoo", day, Some(&globs)),
            "/var/lib/wsdeploy/backups/2025-12-31/etc/nginx/sites-enabled/odoo"
        );
        assert_eq!(
            backup_path("/etc/nginx/conf.d/odoo.conf", day, Some(&globs)),
            "/etc/nginx/conf.d/odoo.conf.backup-2025-12-31"
        );
        // Without the configuration: anything in an nginx tree goes to the state dir.
        assert_eq!(
            backup_path("/etc/nginx/sites-enabled/app", day, None),
            "/var/lib/wsdeploy/backups/2025-12-31/etc/nginx/sites-enabled/app"
        );
        assert_eq!(
            backup_path("/etc/opticserp/odoo.conf", day, None),
            "/etc/opticserp/odoo.conf.backup-2025-12-31"
        );
        // Wherever it went, it is one of the candidates a rollback looks at.
        for real in ["/etc/nginx/sites-enabled/odoo", "/etc/opticserp/odoo.conf"] {
            let candidates = backup_candidates(real, day);
            assert!(candidates.contains(&backup_path(real, day, Some(&globs))));
            assert!(candidates.contains(&backup_path(real, day, None)));
        }
    }
}
