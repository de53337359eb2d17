namespace PortReserve.IntegrationTests.Infrastructure;

/// <summary>
/// The tests that build the whole tree again (install.sh, package.sh): one at a time, since each keeps both cores
/// busy for a minute or more.
/// </summary>
[CollectionDefinition(nameof(BuildCollection))]
public sealed class BuildCollection;
