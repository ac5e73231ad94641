// One socket-owning thread of the spike (see main.ts): its own listener, its own thread state.
import { readFileSync } from "node:fs";
import { libpython, PyBUF_WRITE, Py_file_input, type Ptr } from "../../../src/ffi/libpython.ts";

declare const self: Worker;

self.onmessage = (event: MessageEvent) => {
  const { library, interpreter, port, script, index } = event.data;
  const py = libpython(library);
  const threadState = py.PyThreadState_New(interpreter);
  py.PyEval_RestoreThread(threadState);
  const buffer = new Uint8Array(1 << 20);
  const load = (name: string, path: string): Ptr => {
    const code = py.Py_CompileString(readFileSync(path, "utf8"), path, Py_file_input);
    const module = code && py.PyImport_ExecCodeModule(name, code);
    if (!module) {
      py.PyErr_PrintEx(0);
      process.exit(1);
    }
    return module;
  };
  const adapter = load(`spike_adapter_${index}`, new URL("./mini_adapter.py", import.meta.url).pathname);
  const app = load(`spike_app_${index}`, script);
  const args = py.PyTuple_New(2);
  py.PyTuple_SetItem(args, 0, py.PyMemoryView_FromMemory(buffer, buffer.byteLength, PyBUF_WRITE));
  py.PyTuple_SetItem(args, 1, py.PyObject_GetAttrString(app, "application"));
  const handle = py.PyObject_CallObject(py.PyObject_GetAttrString(adapter, "make_handler"), args);
  if (!handle) throw new Error("make_handler failed");
  py.PyEval_SaveThread();

  // reusePort: every thread its own listening socket on the one port (Bun takes it; its types omit it).
  const options: Bun.TCPSocketListenOptions<undefined> & { reusePort: boolean } = {
    hostname: "127.0.0.1",
    port,
    reusePort: true,
    socket: {
      data(socket, data) {
        // A request per read: enough for wrk, which sends one at a time on each connection.
        const headEnd = data.indexOf("\r\n\r\n");
        if (headEnd < 0) {
          socket.end();
          return;
        }
        buffer.set(data.subarray(0, headEnd + 4));
        py.PyEval_RestoreThread(threadState);
        const callArgs = py.PyTuple_New(1);
        py.PyTuple_SetItem(callArgs, 0, py.PyLong_FromLongLong(headEnd + 4));
        const result = py.PyObject_CallObject(handle, callArgs);
        py.Py_DecRef(callArgs);
        const length = result ? py.PyLong_AsLongLong(result) : 0;
        if (result) py.Py_DecRef(result);
        else py.PyErr_PrintEx(0);
        py.PyEval_SaveThread();
        if (length > 0) socket.write(buffer.subarray(0, length));
        else socket.end();
      },
    },
  };
  Bun.listen(options);
};
