// A worker thread: takes a request from the run queue, runs it in the application group's interpreter
// holding the GIL only while Python runs, and hands its channel back. It never runs its event loop
// again once started: Atomics.wait is its only way to sleep.
import { defineNoArgsBuiltin } from "../ffi/builtin.ts";
import { libpython } from "../ffi/libpython.ts";
import { ErrorLog } from "../log/error-log.ts";
import { BusyState } from "./busy.ts";
import { Channel, GROUP, REQUEST_EXIT, REQUEST_IMPORT, REQUEST_REPLICA_MASK, SEQ_TO_WORKER, THREAD_REQUESTS, ToMain, ToWorker, TOTAL_REQUESTS } from "./channel.ts";
import { ThreadInterpreters } from "./interpreters.ts";
import { marshal } from "./marshal.ts";
import { ParallelTable } from "./parallel.ts";
import { RequestClock } from "./request-clock.ts";
import { RunQueue } from "./run-queue.ts";
import { preferBatchScheduling } from "./scheduling.ts";
import { SharedMutex } from "./shared-mutex.ts";
import { collectIfDue, noteCrossing } from "./worker-garbage.ts";
import type { WorkerInit } from "./messages.ts";

declare const self: Worker;

self.onmessage = (event: MessageEvent<WorkerInit>) => {
  self.onmessage = null;
  serve(event.data);
};

function serve(init: WorkerInit): void {
  const py = libpython(init.library);
  const log = new ErrorLog(init.logFd, init.logLevel);
  if (!preferBatchScheduling()) log.debug(`worker ${init.index}: SCHED_BATCH not available, default scheduling`);
  // Per channel: the channel, the timings the status page reads (status/stats.ts: always kept, a
  // branch would cost as much) and what the --request-timeout watchdog reads (pool/busy.ts).
  const served = init.channels.map((shared) => {
    const channel = new Channel(shared);
    return { channel, clock: new RequestClock(shared), busy: new BusyState(channel) };
  });
  const runQueue = new RunQueue(init.runQueue);
  // The request in progress: its channel's, and the HTTP thread's messages in it seen so far.
  let { channel, clock } = served[0]!;
  let control = channel.control;
  let seen = 0;

  const waitForMain = (): number => {
    while (Atomics.load(control, SEQ_TO_WORKER) === seen) Atomics.wait(control, SEQ_TO_WORKER, seen);
    seen = Atomics.load(control, SEQ_TO_WORKER);
    return channel.kind();
  };

  // exchange(): Python hands the channel over and sleeps, without the GIL, until the reply is in.
  const exchangeDef = defineNoArgsBuiltin("exchange", () => {
    const threadState = py.PyEval_SaveThread();
    runQueue.away(); // before the message: the HTTP thread's wake rule must see it at once
    channel.notifyMain();
    const waitFrom = performance.now();
    const kind = waitForMain();
    runQueue.back();
    noteCrossing();
    collectIfDue();
    const gilFrom = performance.now();
    clock.waitedForMain(waitFrom);
    py.PyEval_RestoreThread(threadState);
    clock.gilTaken(gilFrom);
    return py.PyLong_FromLongLong(kind);
  });

  const parallel = new ParallelTable(init.parallel);
  // publish(): a piece of a streamed response, written by Python, goes to the HTTP thread (see
  // channel.ts); Python goes on at once, GIL held, to write the next.
  const publishDef = defineNoArgsBuiltin("publish", () => {
    channel.publish();
    noteCrossing(); // collected at the next exchange or request: the GIL is held here
    return py.PyLong_FromLongLong(0);
  });

  // away() and back(): Python waits on its client (a request body read from the socket, see adapter.py).
  const awayDef = defineNoArgsBuiltin("away", () => {
    runQueue.away();
    return py.PyLong_FromLongLong(0);
  });
  const backDef = defineNoArgsBuiltin("back", () => {
    runQueue.back();
    return py.PyLong_FromLongLong(0);
  });

  const interpreters = new ThreadInterpreters(py, init.registry, log, {
    config: marshal(init.adapterConfig),
    sources: init.adapterSources,
    memories: init.channels.map((shared) => new Uint8Array(shared)),
    exchangeDef,
    publishDef,
    awayDef,
    backDef,
  }, new SharedMutex(init.setupLock), parallel);

  // Application group names by their number (channel.ts GROUP): decoded from a head once, not per request.
  const groups: string[] = [];
  const groupOf = (channel: Channel): string => {
    const number = channel.control[GROUP]!;
    const known = groups[number];
    if (known !== undefined) return known;
    const name = channel.buffer.toString("latin1", 0, channel.buffer.indexOf(0));
    if (number > 0) groups[number] = name;
    return name;
  };

  const threadIdent = py.PyThread_get_thread_ident();
  let threadRequests = 0; // requests this thread ran, in any interpreter (mod_wsgi.thread_requests)
  runQueue.announceStarted();

  for (;;) {
    const index = runQueue.take();
    // BusyState is published per request whether or not --request-timeout is on: a few stores cost
    // less than a branch on the option would save, and the worker need not know about the watchdog.
    const { busy } = served[index]!;
    ({ channel, clock } = served[index]!);
    control = channel.control;
    seen = Atomics.load(control, SEQ_TO_WORKER);
    const kind = channel.kind();
    if (kind !== ToWorker.Request) {
      // A bug: answered all the same, or the HTTP thread would wait on this channel for good.
      log.error(`worker ${init.index}: unexpected message ${kind} in a queued channel`);
      channel.setMessage(ToMain.Error, 0, 500);
      channel.notifyMain();
      continue;
    }
    clock.begin();
    const arg = channel.arg();
    const untimed = (arg & REQUEST_IMPORT) !== 0;
    const group = groupOf(channel);
    // A parallel group: the replica the request asks for (index + 1 in ARG's low bits: import scripts),
    // else one picked here (see parallel.ts), counted in until the request is over.
    const parallelGroup = parallel.find(group);
    let replica = -1;
    if (parallelGroup) {
      const asked = arg & REQUEST_REPLICA_MASK;
      // An import names its replica (entered here); a request claims the least busy (claim() enters it).
      const named = asked > 0 && asked <= parallelGroup.count;
      replica = named ? asked - 1 : parallel.claim(parallelGroup, init.index % parallelGroup.count);
      if (named) parallel.enter(parallelGroup, replica);
    }
    // The exit functions of a replica no request ever made: there is none to make now.
    const unmade = parallelGroup !== undefined && (arg & REQUEST_EXIT) !== 0 && !parallel.interpreter(parallelGroup, replica);
    const entry = unmade ? null : parallelGroup ? interpreters.getReplica(parallelGroup, replica) : interpreters.get(group);
    if (unmade) {
      channel.setMessage(ToMain.End, 0, 0);
    } else if (!entry) {
      channel.setMessage(ToMain.Error, 0, 500);
    } else {
      const gilFrom = performance.now();
      py.PyEval_RestoreThread(entry.threadState);
      clock.gilTaken(gilFrom);
      busy.begin(runQueue.nextSerial(), entry.interpreter, threadIdent, untimed);
      if (!untimed) {
        channel.wide[TOTAL_REQUESTS] = runQueue.finishedRequests();
        channel.wide[THREAD_REQUESTS] = threadRequests++;
      }
      const result = py.PyObject_CallObject(entry.handle, entry.channelArgs[index]!);
      if (result) py.Py_DecRef(result);
      else {
        // The adapter catches the app's errors itself; this is a bug in it, logged with its traceback.
        py.PyErr_PrintEx(0);
        channel.setMessage(ToMain.Error, 0, 500);
      }
      if (busy.end()) settle(entry.settle);
      py.PyEval_SaveThread();
      if (!untimed) runQueue.requestFinished();
    }
    if (parallelGroup) parallel.release(parallelGroup, replica);
    clock.publish();
    channel.notifyMain();
    noteCrossing();
    collectIfDue();
  }
}

/**
 * After a request the watchdog interrupted: an exception injected after the request's last bytecode
 * would otherwise fire in this thread's next request in the interpreter. settle() runs a few bytecodes
 * that consume it (PyThreadState_SetAsyncExc(id, NULL) would too, but before 3.13 it leaves the
 * interpreter's eval breaker set for good). GIL held.
 */
function settle(settleFunction: number): void {
  const py = libpython();
  const result = py.PyObject_CallNoArgs(settleFunction);
  if (result) py.Py_DecRef(result);
  else py.PyErr_Clear(); // the timeout fired on entry, before settle's own try
}
