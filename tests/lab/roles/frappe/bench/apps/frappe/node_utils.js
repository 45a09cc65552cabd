// Bench configuration for the realtime server, read as Frappe's node_utils.js does:
// defaults, then config.json, then sites/common_site_config.json (truthy values win).
const fs = require("fs");
const path = require("path");

const bench_path = process.env.FRAPPE_BENCH_ROOT || path.resolve(__dirname, "..", "..");

function get_conf() {
	const conf = {
		socketio_port: 9000,
	};
	for (const file of ["config.json", "sites/common_site_config.json"]) {
		const full_path = path.resolve(bench_path, file);
		if (fs.existsSync(full_path)) {
			const bench_config = JSON.parse(fs.readFileSync(full_path));
			for (const key in bench_config) {
				if (bench_config[key]) {
					conf[key] = bench_config[key];
				}
			}
		}
	}
	return conf;
}

module.exports = { get_conf, bench_path };
