// Namespace middleware of the realtime server: a socket's namespace must be its site and
// the hostnames of its Host and Origin headers must be equal, as in Frappe's
// realtime/middlewares/authenticate.js. A refusal reaches the client as a CONNECT_ERROR
// packet (`44/<site>,{"message":"Invalid origin"}`) and is logged.
const { get_conf } = require("../../node_utils");
const { get_hostname } = require("../utils");

const conf = get_conf();

function get_site_name(socket) {
	const headers = socket.request.headers;
	if (socket.site_name) {
		return socket.site_name;
	} else if (headers["x-frappe-site-name"]) {
		socket.site_name = get_hostname(headers["x-frappe-site-name"]);
	} else if (conf.default_site && ["localhost", "127.0.0.1"].includes(get_hostname(headers.host))) {
		socket.site_name = conf.default_site;
	} else if (headers.origin) {
		socket.site_name = get_hostname(headers.origin);
	} else {
		socket.site_name = get_hostname(headers.host);
	}
	return socket.site_name;
}

function refuse(socket, next, message) {
	const headers = socket.request.headers;
	console.log(
		`authentication failed: ${message} (namespace: ${socket.nsp.name}, host: ${headers.host}, origin: ${headers.origin})`,
	);
	next(new Error(message));
}

function authenticate(socket, next) {
	const namespace = socket.nsp.name.slice(1);
	if (namespace != get_site_name(socket)) {
		refuse(socket, next, "Invalid namespace");
		return;
	}
	const headers = socket.request.headers;
	if (get_hostname(headers.host) != get_hostname(headers.origin)) {
		refuse(socket, next, "Invalid origin");
		return;
	}
	next();
}

module.exports = authenticate;
