namespace PortReserve.IntegrationTests.Infrastructure;

/// <summary>The test namespace's net.ipv4.ip_local_reserved_ports, read and written as the kernel presents it.</summary>
internal static class KernelList
{
    public const string Path = "/proc/sys/net/ipv4/ip_local_reserved_ports";

    /// <summary>
    /// The list as text. The kernel hands the whole list to the first read and nothing to a read at a later offset, so a
    /// reader with a small buffer (File.ReadAllText reads 4 KiB at a time) would see a long list cut short.
    /// </summary>
    public static string Text
    {
        get
        {
            using Microsoft.Win32.SafeHandles.SafeFileHandle handle = File.OpenHandle(Path);
            byte[] buffer = new byte[1 << 20];
            int length = RandomAccess.Read(handle, buffer, 0);
            return System.Text.Encoding.ASCII.GetString(buffer, 0, length).Trim();
        }
    }

    public static HashSet<int> Ports()
    {
        var ports = new HashSet<int>();
        foreach (string entry in Text.Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            string[] bounds = entry.Split('-');
            int start = int.Parse(bounds[0], System.Globalization.CultureInfo.InvariantCulture);
            int end = bounds.Length == 2 ? int.Parse(bounds[1], System.Globalization.CultureInfo.InvariantCulture) : start;
            ports.UnionWith(Enumerable.Range(start, end - start + 1));
        }

        return ports;
    }

    public static bool ContainsAll(int start, int end) => Ports().IsSupersetOf(Enumerable.Range(start, end - start + 1));

    public static bool ContainsAny(int start, int end) => Ports().Overlaps(Enumerable.Range(start, end - start + 1));

    public static void Write(string text) => File.WriteAllText(Path, text + "\n");

    /// <summary>Refuses to run outside a private network namespace: the tests must never touch the host's list.</summary>
    public static void EnsurePrivateNamespace()
    {
        if (!PortReserve.Testing.PrivateNamespace.IsCurrent)
        {
            Assert.Fail("integration tests write net.ipv4.ip_local_reserved_ports and must run in a private network namespace: use ./test.sh");
        }
    }
}
