// Timings are compared across hosts on a small machine: run one test at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
