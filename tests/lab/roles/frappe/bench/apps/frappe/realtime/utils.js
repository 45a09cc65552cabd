// Hostname of a Host header or an Origin URL, as Frappe's realtime/utils.js computes it.
function get_hostname(url) {
	if (!url) return undefined;
	if (url.indexOf("://") > -1) {
		url = url.split("/")[2];
	}
	return url.match(/:/g) ? url.slice(0, url.indexOf(":")) : url;
}

module.exports = { get_hostname };
