// The tests share one installed ICD and two long-lived hosts, and every application is timed against a
// small machine: run one test at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
