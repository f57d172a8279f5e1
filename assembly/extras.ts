// Exports beside the kernels, in every build.

/** First byte after the module's own data; the JS allocator starts above it. */
export function heap_base(): usize { return __heap_base; }
