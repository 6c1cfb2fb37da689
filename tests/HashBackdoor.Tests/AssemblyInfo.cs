// Torch's global random generator and its thread pool are process-wide: tests that seed it must not interleave, and on
// 2 cores parallel test classes would only fight over the same cores.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
