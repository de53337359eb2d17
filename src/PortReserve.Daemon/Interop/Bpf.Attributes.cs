using System.Runtime.InteropServices;

namespace PortReserve.Interop;

/// <summary>
/// The members of <c>union bpf_attr</c> (<c>&lt;linux/bpf.h&gt;</c>) the daemon's bpf(2) commands pass, each at the
/// header's offsets and padded to <see cref="Bpf.AttrSize"/> bytes, so that what is not set is zero, as the kernel
/// requires. Host byte order; descriptors are the header's <c>__u32</c>, never negative.
/// </summary>
internal static unsafe class BpfAttributes
{
    /// <summary>BPF_MAP_CREATE.</summary>
    [StructLayout(LayoutKind.Explicit, Size = Bpf.AttrSize)]
    public struct MapCreate
    {
        [FieldOffset(0)] public uint MapType;
        [FieldOffset(4)] public uint KeySize;
        [FieldOffset(8)] public uint ValueSize;
        [FieldOffset(12)] public uint MaxEntries;
        [FieldOffset(16)] public uint MapFlags;
        [FieldOffset(28)] public fixed byte MapName[16];
    }

    /// <summary>BPF_MAP_LOOKUP_ELEM, _UPDATE_ELEM, _DELETE_ELEM and _GET_NEXT_KEY: the map, and pointers to the key and the value (or next key).</summary>
    [StructLayout(LayoutKind.Explicit, Size = Bpf.AttrSize)]
    public struct Element
    {
        [FieldOffset(0)] public int MapFd;
        [FieldOffset(8)] public ulong Key;
        [FieldOffset(16)] public ulong ValueOrNextKey;
        [FieldOffset(24)] public ulong Flags;
    }

    /// <summary>BPF_PROG_LOAD.</summary>
    [StructLayout(LayoutKind.Explicit, Size = Bpf.AttrSize)]
    public struct ProgramLoad
    {
        [FieldOffset(0)] public uint ProgramType;
        [FieldOffset(4)] public uint InstructionCount;
        [FieldOffset(8)] public ulong Instructions;
        [FieldOffset(16)] public ulong License;
        [FieldOffset(24)] public uint LogLevel;
        [FieldOffset(28)] public uint LogSize;
        [FieldOffset(32)] public ulong LogBuffer;
        [FieldOffset(48)] public fixed byte ProgramName[16];
        [FieldOffset(68)] public uint ExpectedAttachType;
    }

    /// <summary>BPF_OBJ_PIN and BPF_OBJ_GET.</summary>
    [StructLayout(LayoutKind.Explicit, Size = Bpf.AttrSize)]
    public struct Object
    {
        [FieldOffset(0)] public ulong PathName;
        [FieldOffset(8)] public int BpfFd;
        [FieldOffset(12)] public uint FileFlags;
    }

    /// <summary>BPF_LINK_CREATE, for a cgroup attachment.</summary>
    [StructLayout(LayoutKind.Explicit, Size = Bpf.AttrSize)]
    public struct LinkCreate
    {
        [FieldOffset(0)] public int ProgramFd;
        [FieldOffset(4)] public int TargetFd;
        [FieldOffset(8)] public uint AttachType;
        [FieldOffset(12)] public uint Flags;
    }

    /// <summary>BPF_LINK_UPDATE.</summary>
    [StructLayout(LayoutKind.Explicit, Size = Bpf.AttrSize)]
    public struct LinkUpdate
    {
        [FieldOffset(0)] public int LinkFd;
        [FieldOffset(4)] public int NewProgramFd;
        [FieldOffset(8)] public uint Flags;
    }

    /// <summary>BPF_RAW_TRACEPOINT_OPEN.</summary>
    [StructLayout(LayoutKind.Explicit, Size = Bpf.AttrSize)]
    public struct RawTracepointOpen
    {
        [FieldOffset(0)] public ulong Name;
        [FieldOffset(8)] public int ProgramFd;
    }
}
