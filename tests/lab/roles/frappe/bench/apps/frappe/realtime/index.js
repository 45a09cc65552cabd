// The realtime server: Socket.IO on `socketio_port` of common_site_config.json, one
// namespace per site, every namespace behind the authentication middleware.
const http = require("http");
const { Server } = require("socket.io");
const { get_conf } = require("../node_utils");
const authenticate = require("./middlewares/authenticate");

const conf = get_conf();
const server = http.createServer();
const io = new Server(server, {
	cors: {
		// The middleware checks that the origin is the site itself.
		origin: true,
		credentials: true,
	},
	cleanupEmptyChildNamespaces: true,
});

const realtime = io.of(/^\/.*$/);
realtime.use(authenticate);
realtime.on("connection", (socket) => {
	console.log(`connected ${socket.id} to site ${socket.nsp.name.slice(1)}`);
	socket.on("ping", (callback) => typeof callback === "function" && callback("pong"));
});

const port = conf.socketio_port;
server.listen(port, () => {
	console.log(`Realtime service listening on: ws://0.0.0.0:${port}`);
});

for (const signal of ["SIGTERM", "SIGINT"]) {
	process.on(signal, () => {
		io.close();
		process.exit(0);
	});
}
