namespace PortReserve.Testing;

/// <summary>
/// Whether these tests run in a network namespace of their own, where attaching bind hooks (scoped to the namespace)
/// touches no one else: the one ./test.sh made (it names it in $PORTRESERVE_TEST_NETNS), or any other whose identity
/// differs from init's. Where init's cannot be read (a container), only the first counts: unknown is not private.
/// </summary>
internal static class PrivateNamespace
{
    public static bool IsCurrent
    {
        get
        {
            string? self = NamespaceOf("self");
            string? init = NamespaceOf("1");
            return self is not null && (Environment.GetEnvironmentVariable("PORTRESERVE_TEST_NETNS") == self || (init is not null && init != self));
        }
    }

    private static string? NamespaceOf(string process)
    {
        try
        {
            return new FileInfo($"/proc/{process}/ns/net").LinkTarget;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
