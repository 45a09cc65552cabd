"""nodemon backend: node monitoring API with an SSH terminal over WebSocket."""

import logging

from fastapi import FastAPI, WebSocket, WebSocketDisconnect

log = logging.getLogger("uvicorn.error")

app = FastAPI(title="nodemon")


@app.get("/api/health")
async def health():
    return {"status": "ok"}


@app.get("/debug/websocket-test")
async def websocket_test():
    return {"message": "WebSocket support available", "status": "ok"}


@app.websocket("/ws/ssh/{node}")
async def ssh_terminal(websocket: WebSocket, node: str):
    log.info("WebSocket connection attempt for node: %s", node)
    await websocket.accept()
    log.info("WebSocket connection accepted for node: %s", node)
    await websocket.send_text(f"connected to {node}")
    try:
        while True:
            await websocket.send_text(await websocket.receive_text())
    except WebSocketDisconnect:
        log.info("WebSocket closed for node: %s", node)
