using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace PortReserve.Interop;

/// <summary>
/// The bpf(2) commands the daemon uses, each with its member of <c>union bpf_attr</c> as a struct laid out at the
/// offsets of <c>&lt;linux/bpf.h&gt;</c> (<see cref="BpfAttributes"/>). Every failure is an <see cref="IOException"/>
/// naming the command and errno.
/// </summary>
internal static unsafe partial class Bpf
{
    public const int MapTypeHash = 1;
    public const int MapTypeArray = 2;
    public const int MapTypeLruHash = 9;
    public const int MapTypeRingBuffer = 27;
    public const uint MapFlagMmapable = 1 << 10;
    public const uint MapFlagNoPrealloc = 1;
    public const int ProgramTypeRawTracepoint = 17;
    public const int ProgramTypeCgroupSock = 9;
    public const int ProgramTypeCgroupSockAddr = 18;
    public const int AttachCgroupInet4Bind = 8;
    public const int AttachCgroupInet6Bind = 9;
    public const int AttachCgroupInet4PostBind = 12;
    public const int AttachCgroupInet6PostBind = 13;
    public const int EPERM = 1;
    public const int ENOENT = 2;
    public const int EACCES = 13;

    /// <summary>The size of union bpf_attr the daemon passes: every command's member fits, and the rest is zero.</summary>
    internal const int AttrSize = 144;
    private const int CommandMapCreate = 0;
    private const int CommandMapLookup = 1;
    private const int CommandMapUpdate = 2;
    private const int CommandMapDelete = 3;
    private const int CommandMapNextKey = 4;
    private const int CommandProgramLoad = 5;
    private const int CommandObjectPin = 6;
    private const int CommandObjectGet = 7;
    private const int CommandRawTracepointOpen = 17;
    private const int CommandLinkCreate = 28;
    private const int CommandLinkUpdate = 29;
    private const int ProtRead = 1;
    private const int ProtWrite = 2;
    private const int MapShared = 1;

    /// <summary>The bpf system call's number on this machine's architecture.</summary>
    private static readonly long s_syscallNumber = RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 => 321,
        Architecture.Arm64 => 280,
        var other => throw new PlatformNotSupportedException($"bpf(2) is not wired up for {other}"),
    };

    public static SafeFileHandle CreateMap(int type, int keySize, int valueSize, int maxEntries, uint flags, string name)
    {
        var attr = new BpfAttributes.MapCreate { MapType = (uint)type, KeySize = (uint)keySize, ValueSize = (uint)valueSize, MaxEntries = (uint)maxEntries, MapFlags = flags };
        WriteName(attr.MapName, name);
        return Descriptor(Call(CommandMapCreate, &attr), "BPF_MAP_CREATE");
    }

    public static void UpdateElement(SafeFileHandle map, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        fixed (byte* v = value)
        {
            Check(CallOnElement(CommandMapUpdate, map, key, v), "BPF_MAP_UPDATE_ELEM");
        }
    }

    /// <summary>Whether a hash map holds <paramref name="key"/> (its value, of <paramref name="valueSize"/> bytes, is not returned).</summary>
    public static bool ContainsElement(SafeFileHandle map, ReadOnlySpan<byte> key, int valueSize)
    {
        Span<byte> value = stackalloc byte[valueSize];
        return LookupElement(map, key, value);
    }

    /// <summary>Reads the value at <paramref name="key"/> into <paramref name="value"/>; false when there is none.</summary>
    public static bool LookupElement(SafeFileHandle map, ReadOnlySpan<byte> key, Span<byte> value)
    {
        fixed (byte* v = value)
        {
            return Found(CallOnElement(CommandMapLookup, map, key, v), "BPF_MAP_LOOKUP_ELEM");
        }
    }

    /// <summary>The key after <paramref name="key"/> (the first for an empty one) in <paramref name="next"/>; false after the last.</summary>
    public static bool NextKey(SafeFileHandle map, ReadOnlySpan<byte> key, Span<byte> next)
    {
        fixed (byte* n = next)
        {
            return Found(CallOnElement(CommandMapNextKey, map, key, n), "BPF_MAP_GET_NEXT_KEY");
        }
    }

    /// <summary>Deletes an element; false when it was not there.</summary>
    public static bool DeleteElement(SafeFileHandle map, ReadOnlySpan<byte> key)
        => Found(CallOnElement(CommandMapDelete, map, key, null), "BPF_MAP_DELETE_ELEM");

    /// <summary>
    /// Loads a program; when the verifier refuses it, the exception carries the verifier's log, which says which
    /// instruction and why.
    /// </summary>
    public static SafeFileHandle LoadProgram(int type, int expectedAttachType, ReadOnlySpan<byte> instructions, string name)
    {
        byte[] license = "GPL\0"u8.ToArray();
        byte[] log = new byte[64 * 1024];
        fixed (byte* code = instructions)
        fixed (byte* licensePointer = license)
        fixed (byte* logPointer = log)
        {
            var attr = new BpfAttributes.ProgramLoad
            {
                ProgramType = (uint)type,
                InstructionCount = (uint)(instructions.Length / 8),
                Instructions = (ulong)code,
                License = (ulong)licensePointer,
                LogLevel = 1,
                LogSize = (uint)log.Length,
                LogBuffer = (ulong)logPointer,
                ExpectedAttachType = (uint)expectedAttachType,
            };
            WriteName(attr.ProgramName, name);
            long fd = Call(CommandProgramLoad, &attr);
            if (fd < 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                string verifier = Encoding.ASCII.GetString(log, 0, Math.Max(0, Array.IndexOf(log, (byte)0))).Trim();
                throw new IOException($"BPF_PROG_LOAD failed: {Libc.Describe(errno)}{(verifier.Length == 0 ? string.Empty : $"; the verifier said:\n{verifier}")}");
            }

            return new SafeFileHandle((nint)fd, ownsHandle: true);
        }
    }

    /// <summary>Attaches a program to a cgroup; the attachment lasts as long as the returned link descriptor.</summary>
    public static SafeFileHandle CreateLink(SafeFileHandle program, SafeFileHandle cgroup, int attachType)
    {
        var attr = new BpfAttributes.LinkCreate { ProgramFd = Fd(program), TargetFd = Fd(cgroup), AttachType = (uint)attachType };
        return Descriptor(Call(CommandLinkCreate, &attr), "BPF_LINK_CREATE");
    }

    /// <summary>Attaches a raw tracepoint program to the tracepoint <paramref name="name"/>; it stays attached as long as the returned descriptor.</summary>
    public static SafeFileHandle OpenRawTracepoint(SafeFileHandle program, string name)
    {
        byte[] tracepoint = Encoding.ASCII.GetBytes(name + "\0");
        fixed (byte* namePointer = tracepoint)
        {
            var attr = new BpfAttributes.RawTracepointOpen { Name = (ulong)namePointer, ProgramFd = Fd(program) };
            return Descriptor(Call(CommandRawTracepointOpen, &attr), "BPF_RAW_TRACEPOINT_OPEN");
        }
    }

    /// <summary>
    /// Pins an object (map, program or link) as <paramref name="name"/> in the bpffs directory <paramref name="directory"/>:
    /// it lives on, attached if it is a link, until the name is unlinked, whatever becomes of this process.
    /// </summary>
    public static void Pin(SafeFileHandle handle, SafeFileHandle directory, string name)
        => Check(CallAtPath(CommandObjectPin, directory, name, handle), $"BPF_OBJ_PIN of {name}");

    /// <summary>Opens the object pinned as <paramref name="name"/> in <paramref name="directory"/>; null when nothing is pinned there.</summary>
    public static SafeFileHandle? OpenPinned(SafeFileHandle directory, string name)
    {
        long result = CallAtPath(CommandObjectGet, directory, name, handle: null);
        return result < 0 && Marshal.GetLastPInvokeError() == ENOENT ? null : Descriptor(result, $"BPF_OBJ_GET of {name}");
    }

    /// <summary>
    /// The type, key size and value size of the map behind <paramref name="handle"/>, from its <c>/proc/self/fdinfo</c>
    /// entry; null when it is not a map (a program or a link pinned under a map's name).
    /// </summary>
    public static (int Type, int KeySize, int ValueSize)? MapShape(SafeFileHandle handle)
    {
        int? type = null, keySize = null, valueSize = null;
        foreach (string line in File.ReadLines($"/proc/self/fdinfo/{Fd(handle)}"))
        {
            string[] field = line.Split(':', 2, StringSplitOptions.TrimEntries);
            if (field.Length == 2 && int.TryParse(field[1], System.Globalization.CultureInfo.InvariantCulture, out int value))
            {
                switch (field[0])
                {
                    case "map_type":
                        type = value;
                        break;
                    case "key_size":
                        keySize = value;
                        break;
                    case "value_size":
                        valueSize = value;
                        break;
                }
            }
        }

        return type is { } t && keySize is { } k && valueSize is { } v ? (t, k, v) : null;
    }

    /// <summary>Swaps the program a link runs for <paramref name="program"/> in one step: the attachment never lapses.</summary>
    public static void UpdateLink(SafeFileHandle link, SafeFileHandle program)
    {
        var attr = new BpfAttributes.LinkUpdate { LinkFd = Fd(link), NewProgramFd = Fd(program) };
        Check(Call(CommandLinkUpdate, &attr), "BPF_LINK_UPDATE");
    }

    /// <summary>Maps an array map made with <see cref="MapFlagMmapable"/> read-write into this process.</summary>
    public static nint Map(SafeFileHandle map, nuint length)
    {
        nint address = (nint)Mmap(null, length, ProtRead | ProtWrite, MapShared, Fd(map), 0);
        return address == -1 ? throw new IOException($"mmap of a BPF map failed: {Libc.Describe(Marshal.GetLastPInvokeError())}") : address;
    }

    /// <summary>
    /// Maps part of a BPF map at <paramref name="offset"/>, read-only unless <paramref name="writable"/>: a ring buffer's
    /// consumer page (the reader's position, which it writes) and, after it, its producer page and data (which only the
    /// kernel writes; the data is mapped twice in a row, so a record that wraps reads as one piece).
    /// </summary>
    public static nint MapPart(SafeFileHandle map, nuint length, long offset, bool writable)
    {
        nint address = (nint)Mmap(null, length, writable ? ProtRead | ProtWrite : ProtRead, MapShared, Fd(map), offset);
        return address == -1 ? throw new IOException($"mmap of a BPF map failed: {Libc.Describe(Marshal.GetLastPInvokeError())}") : address;
    }

    public static void Unmap(nint address, nuint length) => _ = Munmap((void*)address, length);

    /// <summary>bpf(2) with one member of union bpf_attr; each is a struct of <see cref="AttrSize"/> bytes, zero where unset.</summary>
    private static long Call<T>(int command, T* attr)
        where T : unmanaged
        => sizeof(T) == AttrSize ? Syscall(s_syscallNumber, command, (byte*)attr, AttrSize) : throw new InvalidOperationException($"{typeof(T).Name} is not {AttrSize} bytes");

    /// <summary>
    /// A map element command: the map, the key (an empty one is a null pointer: "the first" for GET_NEXT_KEY) and the
    /// value or next key the command reads or writes.
    /// </summary>
    private static long CallOnElement(int command, SafeFileHandle map, ReadOnlySpan<byte> key, byte* valueOrNext)
    {
        fixed (byte* k = key)
        {
            var attr = new BpfAttributes.Element { MapFd = Fd(map), Key = (ulong)k, ValueOrNextKey = (ulong)valueOrNext };
            return Call(command, &attr);
        }
    }

    /// <summary>True for a command that succeeded, false for ENOENT (no such element, or no next key); throws for anything else.</summary>
    private static bool Found(long result, string command)
    {
        if (result < 0 && Marshal.GetLastPInvokeError() == ENOENT)
        {
            return false;
        }

        Check(result, command);
        return true;
    }

    /// <summary>
    /// BPF_OBJ_PIN or BPF_OBJ_GET of <paramref name="name"/> in the open <paramref name="directory"/>, named through
    /// /proc/self/fd so that the directory checked is the one used, whatever is renamed meanwhile, on any kernel
    /// (BPF_F_PATH_FD does the same, but only from Linux 6.5).
    /// </summary>
    private static long CallAtPath(int command, SafeFileHandle directory, string name, SafeFileHandle? handle)
    {
        byte[] path = Encoding.UTF8.GetBytes($"/proc/self/fd/{Fd(directory)}/{name}\0");
        fixed (byte* pathPointer = path)
        {
            var attr = new BpfAttributes.Object { PathName = (ulong)pathPointer, BpfFd = handle is null ? 0 : Fd(handle) };
            return Call(command, &attr);
        }
    }

    private static SafeFileHandle Descriptor(long result, string command)
    {
        Check(result, command);
        return new SafeFileHandle((nint)result, ownsHandle: true);
    }

    private static void Check(long result, string command)
    {
        if (result < 0)
        {
            throw new IOException($"{command} failed: {Libc.Describe(Marshal.GetLastPInvokeError())}");
        }
    }

    private static int Fd(SafeFileHandle handle) => (int)handle.DangerousGetHandle();

    /// <summary>An object's name (BPF_OBJ_NAME_LEN, 16 bytes with its terminating zero), as the kernel shows it in bpftool.</summary>
    private static void WriteName(byte* destination, string name) => Encoding.ASCII.GetBytes(name.AsSpan(0, Math.Min(name.Length, 15)), new Span<byte>(destination, 15));

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static partial long Syscall(long number, long command, byte* attr, long size);

    [LibraryImport("libc", EntryPoint = "mmap", SetLastError = true)]
    private static partial void* Mmap(void* address, nuint length, int protection, int flags, int fd, long offset);

    [LibraryImport("libc", EntryPoint = "munmap", SetLastError = true)]
    private static partial int Munmap(void* address, nuint length);
}
