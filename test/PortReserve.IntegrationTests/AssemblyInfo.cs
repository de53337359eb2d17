// Every daemon under test writes the namespace's one ip_local_reserved_ports list, so the tests run one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
