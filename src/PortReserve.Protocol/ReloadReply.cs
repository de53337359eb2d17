using System.Text;

namespace PortReserve.Protocol;

/// <summary>
/// What applying the reservations.d files did: how many declared reservations were added, removed, updated (allow-lists
/// or lines changed) and left as they were, and the problems (skipped lines), as many as fit in one frame out of
/// <see cref="TotalProblems"/>.
/// </summary>
internal sealed record ReloadReply(int Files, int Added, int Removed, int Updated, int Unchanged, IReadOnlyList<(string File, int Line, string Reason)> Problems, int TotalProblems)
{
    /// <summary>The body's fixed part: six counts and the listed problems' count.</summary>
    private const int FixedSize = 6 * 4 + 2;

    public void Write(ref FrameWriter writer)
    {
        // Problems beyond what fits are counted, not listed; the daemon's log has each of them.
        int room = FrameHeader.MaxFrameSize - FrameHeader.Size - FixedSize;
        int listed = 0;
        while (listed < Problems.Count && listed < ushort.MaxValue && Size(Problems[listed]) <= room)
        {
            room -= Size(Problems[listed]);
            listed++;
        }

        writer.WriteInt32(Files);
        writer.WriteInt32(Added);
        writer.WriteInt32(Removed);
        writer.WriteInt32(Updated);
        writer.WriteInt32(Unchanged);
        writer.WriteInt32(Math.Max(TotalProblems, listed));
        writer.WriteUInt16((ushort)listed);
        foreach ((string file, int line, string reason) in Problems.Take(listed))
        {
            writer.WriteString(file);
            writer.WriteInt32(line);
            writer.WriteString(reason);
        }
    }

    public static ReloadReply Read(ref FrameReader reader)
    {
        (int files, int added, int removed, int updated, int unchanged, int total) = (reader.ReadInt32(), reader.ReadInt32(), reader.ReadInt32(), reader.ReadInt32(), reader.ReadInt32(), reader.ReadInt32());
        int listed = reader.ReadUInt16();
        if (Math.Min(Math.Min(files, added), Math.Min(Math.Min(removed, updated), Math.Min(unchanged, total))) < 0 || listed > total)
        {
            throw new ProtocolException($"reload counts are not valid: {files} files, {added}/{removed}/{updated}/{unchanged}, {listed} of {total} problems");
        }

        var problems = new List<(string, int, string)>(listed);
        for (int i = 0; i < listed; i++)
        {
            problems.Add((reader.ReadString(), reader.ReadInt32(), reader.ReadString()));
        }

        reader.EnsureEnd();
        return new ReloadReply(files, added, removed, updated, unchanged, problems, total);
    }

    /// <summary>The bytes a problem takes (strings longer than the protocol allows are cut when written, so this may overcount).</summary>
    private static int Size((string File, int Line, string Reason) problem)
        => 2 + Encoding.UTF8.GetByteCount(problem.File) + 4 + 2 + Encoding.UTF8.GetByteCount(problem.Reason);
}
