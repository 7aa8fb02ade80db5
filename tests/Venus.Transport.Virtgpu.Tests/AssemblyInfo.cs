// The fd-leak test counts /proc/self/fd: no other test of this assembly may open files meanwhile.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
