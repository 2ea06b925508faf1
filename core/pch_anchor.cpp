// Compiled only to produce the precompiled libtorch header the other targets reuse.
