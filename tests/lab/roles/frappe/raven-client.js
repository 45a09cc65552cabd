// A browser client of Frappe realtime, as Raven's frontend (frappe-react-sdk /
// frappe-js-sdk) builds it: it loads the page, reads `frappe.boot` (sitename,
// socketio_port) and, when the page URL has a port, connects to
// `http://<page hostname>:<socketio_port or 9000>/<sitename>`, otherwise to
// `https://<page hostname>/<sitename>` (the field report's root cause: with a port in the
// page URL, the client bypasses the proxy the page came through).
// It speaks real Socket.IO (npm socket.io-client) and sends what a browser sends: Origin
// (the page's), Cookie (sid), User-Agent. Prints one JSON line:
// {"url", "connected": true, "transport"} (after the WebSocket upgrade, if any) or
// {"url", "connected": false, "error"}; exits 0 when connected, 2 otherwise.
//   node raven-client.js PAGE_URL [COOKIE]
const { io } = require("socket.io-client");

async function main() {
	const page = new URL(process.argv[2]);
	const cookie = process.argv[3] || "sid=Guest";
	const html = await (await fetch(page, { headers: { Cookie: cookie } })).text();
	const boot = JSON.parse(/frappe\.boot = (\{.*?\});/.exec(html)[1]);
	const port = page.port ? `:${boot.socketio_port || 9000}` : "";
	const protocol = port ? "http" : "https";
	const url = `${protocol}://${page.hostname}${port}/${boot.sitename}`;
	const socket = io(url, {
		withCredentials: true,
		reconnection: false,
		timeout: 5000,
		extraHeaders: {
			Origin: page.origin,
			Cookie: cookie,
			"User-Agent":
				"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
		},
	});
	const done = (result, code) => {
		console.log(JSON.stringify({ url, ...result }));
		socket.close();
		process.exit(code);
	};
	const timer = setTimeout(() => done({ connected: false, error: "no answer within 8 s" }, 2), 8000);
	socket.on("connect", () => {
		const engine = socket.io.engine;
		if (engine.transport.name === "websocket") {
			clearTimeout(timer);
			done({ connected: true, transport: "websocket" }, 0);
			return;
		}
		engine.once("upgrade", () => {
			clearTimeout(timer);
			done({ connected: true, transport: engine.transport.name }, 0);
		});
		setTimeout(() => done({ connected: true, transport: engine.transport.name }, 0), 3000);
	});
	socket.on("connect_error", (err) => {
		clearTimeout(timer);
		done({ connected: false, error: err.message }, 2);
	});
}

main().catch((err) => {
	console.log(JSON.stringify({ connected: false, error: String(err) }));
	process.exit(2);
});
