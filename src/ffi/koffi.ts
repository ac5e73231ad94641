// The one place koffi is imported, so the build can swap in an embedded native module.
import koffi from "koffi";

// Python's C code (deep recursion, big frames) runs on koffi's synchronous stack: give it the maximum
// so Python's own recursion limits trip long before the stack does. Must run before the first load.
koffi.config({ ...koffi.config(), sync_stack_size: 16 * 1024 * 1024 });

export default koffi;
