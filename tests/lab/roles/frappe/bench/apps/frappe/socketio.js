// Frappe's realtime (Socket.IO) server, started by bench as `node apps/frappe/socketio.js`.
require("./realtime");
