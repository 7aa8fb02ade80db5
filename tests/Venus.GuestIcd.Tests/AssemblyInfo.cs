// The tests share one installed ICD and long-lived hosts, kill hosts, and measure how fast a client
// notices: run one test at a time on the small machine.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
