using System.Text;
using PortReserve.Daemon.Reservations;

namespace PortReserve.Daemon.Kernel;

/// <summary>
/// Remembers, in the state directory, which entries of the kernel list the daemon wrote, so that after a crash it
/// can remove its own leftovers without touching system exclusions. The kernel list lives as long as the boot and
/// the network namespace, so the record is tagged with both and ignored when either differs.
/// </summary>
internal sealed class OwnedPortsRecord(string path)
{
    private readonly string _path = path;
    private readonly string _identity = CurrentIdentity();

    public string FilePath => _path;

    /// <summary>The ports recorded for this boot and namespace, or an empty set when the record is absent or stale.</summary>
    public PortSet Load()
    {
        if (!File.Exists(_path))
        {
            return new PortSet();
        }

        string[] lines = File.ReadAllLines(_path);
        if (lines.Length < 2 || lines[0] != _identity)
        {
            return new PortSet();
        }

        try
        {
            return KernelPortList.Parse(lines[1]);
        }
        catch (FormatException e)
        {
            throw new InvalidDataException($"{_path} is corrupt ({e.Message}); delete it if the kernel list holds no stale runtime entries", e);
        }
    }

    /// <summary>Replaces the record atomically (write, then rename): a crash leaves the old or the new one, never half.</summary>
    public void Save(PortSet ports)
    {
        string temporary = _path + ".tmp";
        File.WriteAllText(temporary, _identity + "\n" + KernelPortList.Format(ports) + "\n", Encoding.ASCII);
        File.Move(temporary, _path, overwrite: true);
    }

    private static string CurrentIdentity()
    {
        string bootId = File.Exists("/proc/sys/kernel/random/boot_id") ? File.ReadAllText("/proc/sys/kernel/random/boot_id").Trim() : "unknown-boot";
        string? netns = new FileInfo("/proc/self/ns/net").LinkTarget;
        return $"boot {bootId} {netns ?? "unknown-netns"}";
    }
}
