using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;
using PortReserve.Interop;

namespace PortReserve.Declarations;

/// <summary>
/// Everything a set of reservations.d files declares, checked the way both <c>portreserve check</c> and the daemon
/// need: each line's syntax, whether its users and groups exist, and overlaps between lines (the earlier line, in
/// reading order, keeps its ports; the later one is skipped). Conflicts with the machine's live state (other
/// reservations, ports in use) are the daemon's to find.
/// </summary>
internal sealed class DeclarationSet
{
    /// <summary>A file larger than this is not read: a reservations file is a few lines.</summary>
    public const long MaxFileBytes = 1024 * 1024;

    private DeclarationSet(List<string> files, List<DeclaredBlock> blocks, List<DeclaredBlock> unresolved, List<DeclarationProblem> problems)
    {
        Files = files;
        Blocks = blocks;
        Unresolved = unresolved;
        Problems = problems;
    }

    /// <summary>The files read, in order.</summary>
    public IReadOnlyList<string> Files { get; }

    /// <summary>The lines that declare a reservation: valid, names known, overlapping no earlier line.</summary>
    public IReadOnlyList<DeclaredBlock> Blocks { get; }

    /// <summary>
    /// Lines whose block is valid but name a user or group this machine does not know (also in <see cref="Problems"/>):
    /// the daemon keeps an existing reservation of exactly that block as it was, rather than drop it over a typo.
    /// </summary>
    public IReadOnlyList<DeclaredBlock> Unresolved { get; }

    /// <summary>Every skipped line and unreadable file or directory, in reading order.</summary>
    public IReadOnlyList<DeclarationProblem> Problems { get; }

    /// <summary>Reads the files in the directories (see <see cref="DeclarationFiles"/>).</summary>
    public static DeclarationSet LoadDirectories(IReadOnlyList<string> directories, Func<string, bool> userExists, Func<string, bool> groupExists)
    {
        (List<string> files, List<DeclarationProblem> problems) = DeclarationFiles.Find(directories);
        return Load(files, problems, userExists, groupExists);
    }

    /// <summary>Reads exactly these files, in this order.</summary>
    public static DeclarationSet LoadFiles(IReadOnlyList<string> files, Func<string, bool> userExists, Func<string, bool> groupExists)
        => Load([.. files], [], userExists, groupExists);

    private static DeclarationSet Load(List<string> files, List<DeclarationProblem> problems, Func<string, bool> userExists, Func<string, bool> groupExists)
    {
        var parsed = new List<DeclaredBlock>();
        foreach (string file in files)
        {
            if (Read(file, out string text) is { } unreadable)
            {
                problems.Add(new DeclarationProblem(file, 0, unreadable));
                continue;
            }

            (List<DeclaredBlock> blocks, List<DeclarationProblem> lineProblems) = DeclarationParser.Parse(file, text);
            parsed.AddRange(blocks);
            problems.AddRange(lineProblems);
        }

        var accepted = new List<DeclaredBlock>();
        var unresolved = new List<DeclaredBlock>();
        var owners = new Dictionary<PortReservationProtocol, DeclaredBlock?[]>();
        foreach (DeclaredBlock block in parsed)
        {
            if (!owners.TryGetValue(block.Protocol, out DeclaredBlock?[]? owner))
            {
                owners[block.Protocol] = owner = new DeclaredBlock?[65536];
            }

            if (FirstOwner(owner, block) is { } earlier)
            {
                problems.Add(new DeclarationProblem(block.File, block.Line, $"{block.Describe()} overlaps {earlier.Describe()} declared at {earlier.Source}; remove one of them"));
                continue;
            }

            Array.Fill(owner, block, block.Start, block.Count);
            string? unknown = block.Users.Where(u => !userExists(u)).Select(u => $"allow-user={u}: no such user on this machine")
                .Concat(block.Groups.Where(g => !groupExists(g)).Select(g => $"allow-group={g}: no such group on this machine"))
                .FirstOrDefault();
            if (unknown is null)
            {
                accepted.Add(block);
            }
            else
            {
                unresolved.Add(block);
                problems.Add(new DeclarationProblem(block.File, block.Line, unknown));
            }
        }

        return new DeclarationSet(files, accepted, unresolved, DeclarationProblem.InReadingOrder(problems, files));
    }

    private static DeclaredBlock? FirstOwner(DeclaredBlock?[] owner, DeclaredBlock block)
    {
        for (int port = block.Start; port <= block.End; port++)
        {
            if (owner[port] is { } earlier)
            {
                return earlier;
            }
        }

        return null;
    }

    /// <summary>The file's text, or why it cannot be read.</summary>
    private static string? Read(string file, out string text)
    {
        text = string.Empty;
        try
        {
            // Opened non-blocking, so that opening a FIFO named *.conf never hangs the reader (it is then refused: no
            // regular file).
            using SafeFileHandle handle = OpenNonBlocking(file);
            if (Untrusted(handle) is { } why)
            {
                return $"{why}; none of its lines applied";
            }

            using var stream = new FileStream(handle, FileAccess.Read, bufferSize: 0);
            using var content = new MemoryStream();
            byte[] chunk = new byte[16 * 1024];
            int read;
            while ((read = stream.Read(chunk)) > 0)
            {
                content.Write(chunk, 0, read);
                if (content.Length > MaxFileBytes)
                {
                    return $"larger than {MaxFileBytes / 1024} KiB, so not read: a reservations file is a list of lines";
                }
            }

            text = Encoding.UTF8.GetString(content.GetBuffer(), 0, (int)content.Length);
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"cannot be read ({e.Message}); none of its lines applied";
        }
    }

    /// <summary>
    /// Why the open file may not be believed: a line grants ports, and the right to bind them below 1024, so a file is
    /// read only when it is a regular file root (or the user a per-user daemon runs as) owns and nobody else may write,
    /// on a file system that holds files: /proc and /sys show root's files whose contents any process shapes (its
    /// command line). A link to /dev/null masks a file, as in systemd's directories; no other device is read.
    /// </summary>
    private static string? Untrusted(SafeFileHandle handle)
    {
        if (!Libc.TryStatOf(handle, Libc.STATX_TYPE | Libc.STATX_MODE | Libc.STATX_UID, out Libc.FileStatus status))
        {
            return $"cannot be checked ({Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())})";
        }

        if (status.IsCharacterDevice && (status.DeviceMajor, status.DeviceMinor) == (1, 3))
        {
            return null;
        }

        return !status.IsRegularFile ? "is not a regular file (only a link to /dev/null masks a file), so it is not trusted"
            : PseudoFileSystem(handle) is { } kind ? $"is on {kind}, whose files' contents processes shape, so it is not trusted"
            : status.Uid != 0 && status.Uid != Libc.GetEUid() ? $"is owned by uid {status.Uid}, not root, so it is not trusted"
            : (status.Mode & 0b000_010_010) != 0 ? $"may be written by users other than its owner (mode {Convert.ToString(status.Mode & 0xFFF, 8)}; make it 0644)"
            : null;
    }

    /// <summary>The name of the kernel's pseudo file system the file is on (statfs f_type), or null for a real one.</summary>
    private static string? PseudoFileSystem(SafeFileHandle handle) => Libc.FileSystemType(handle) switch
    {
        null => "a file system that cannot be checked",
        0x9fa0 => "/proc",
        0x62656572 => "sysfs",
        0x1cd1 => "devpts",
        0x64626720 => "debugfs",
        0x74726163 => "tracefs",
        0x27e0eb or 0x63677270 => "the cgroup file system",
        0x73636673 => "securityfs",
        Libc.BPF_FS_MAGIC => "bpffs",
        _ => null,
    };

    private static SafeFileHandle OpenNonBlocking(string file)
    {
        // O_NOCTTY: a terminal is never the daemon's controlling terminal for having been opened.
        SafeFileHandle handle = Libc.Open(file, Libc.O_RDONLY | Libc.O_NOCTTY | Libc.O_NONBLOCK | Libc.O_CLOEXEC, 0);
        if (handle.IsInvalid)
        {
            int errno = Marshal.GetLastPInvokeError();
            handle.Dispose();
            throw new IOException(Marshal.GetPInvokeErrorMessage(errno));
        }

        return handle;
    }
}
