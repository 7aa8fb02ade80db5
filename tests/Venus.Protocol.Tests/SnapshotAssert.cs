using System.Text;

namespace Venus.Protocol.Tests;

/// <summary>
/// A tiny snapshot helper for encoded Venus streams. <see cref="Match"/> renders bytes as text a reviewer can
/// read against docs/venus-protocol.md (16 bytes a line, grouped in the 4-byte units of §1.1, each unit
/// written as its bytes in stream order — the way the fact sheet's tables print them, so u32 1 is
/// <c>01000000</c>), and compares that text with the approved file
/// <c>tests/Venus.Protocol.Tests/Snapshots/&lt;name&gt;.txt</c>.
/// On a mismatch or a missing file it writes <c>&lt;name&gt;.received.txt</c> beside it and fails with a
/// diff summary. With the environment variable <c>VENUS_ACCEPT_SNAPSHOTS=1</c> it writes the approved
/// file instead and passes.
/// </summary>
public static class SnapshotAssert
{
    public const string AcceptVariable = "VENUS_ACCEPT_SNAPSHOTS";
    const int BytesPerLine = 16;
    const int MaxDiffLines = 12;

    static readonly Lazy<string> s_dir = new(LocateSnapshotDirectory);

    /// <summary>The approved-files folder in the source tree (not the build output).</summary>
    public static string SnapshotDirectory => s_dir.Value;

    public static bool Accepting => Environment.GetEnvironmentVariable(AcceptVariable) == "1";

    public static void Match(string name, ReadOnlySpan<byte> bytes, string? note = null)
    {
        ValidateName(name);
        string actual = Render(name, bytes, note);
        string approvedPath = Path.Combine(SnapshotDirectory, name + ".txt");
        string receivedPath = Path.Combine(SnapshotDirectory, name + ".received.txt");

        if (Accepting)
        {
            Directory.CreateDirectory(SnapshotDirectory);
            if (!File.Exists(approvedPath) || Normalize(File.ReadAllText(approvedPath)) != actual)
                File.WriteAllText(approvedPath, actual, new UTF8Encoding(false));
            if (File.Exists(receivedPath)) File.Delete(receivedPath);
            return;
        }

        if (!File.Exists(approvedPath))
        {
            Write(receivedPath, actual);
            Assert.Fail($"Snapshot '{name}' has no approved file {approvedPath}.\n" +
                        $"Wrote {receivedPath} ({bytes.Length} bytes). Review it, then rename it to {name}.txt " +
                        $"or run the tests with {AcceptVariable}=1.");
        }

        string expected = Normalize(File.ReadAllText(approvedPath));
        if (expected == actual)
        {
            if (File.Exists(receivedPath)) File.Delete(receivedPath);
            return;
        }

        Write(receivedPath, actual);
        Assert.Fail($"Snapshot '{name}' differs from {approvedPath}.\n" +
                    $"Wrote {receivedPath}.\n" + DiffSummary(expected, actual) +
                    $"\nIf the change is intended, run the tests with {AcceptVariable}=1 to approve it.");
    }

    /// <summary>The text form of a snapshot (also handy in failure messages of other tests).</summary>
    public static string Render(string name, ReadOnlySpan<byte> bytes, string? note = null)
    {
        var sb = new StringBuilder();
        sb.Append("# venus snapshot: ").Append(name).Append('\n');
        if (!string.IsNullOrEmpty(note))
            foreach (var line in Normalize(note).Split('\n'))
                sb.Append("# ").Append(line.TrimEnd()).Append('\n');
        sb.Append("# ").Append(bytes.Length).Append(" bytes");
        if (bytes.Length % 4 == 0) sb.Append(" = ").Append(bytes.Length / 4).Append(" units of 4");
        else sb.Append(" (NOT a multiple of 4)");
        sb.Append('\n');
        sb.Append("# offset (decimal hex): units as stream bytes, little-endian (u32 1 = 01000000) | ASCII\n");

        for (int off = 0; off < bytes.Length; off += BytesPerLine)
        {
            var row = bytes.Slice(off, Math.Min(BytesPerLine, bytes.Length - off));
            sb.Append(off.ToString().PadLeft(5)).Append(" 0x").Append(off.ToString("x4")).Append(':');
            for (int u = 0; u < row.Length; u += 4)
            {
                sb.Append(' ');
                for (int i = u; i < Math.Min(u + 4, row.Length); i++) sb.Append(row[i].ToString("x2"));
            }
            // pad short final lines so the ASCII column lines up
            int missing = BytesPerLine - row.Length;
            if (missing > 0)
            {
                int fullUnitsMissing = (BytesPerLine / 4) - (row.Length + 3) / 4;
                sb.Append(' ', missing * 2 + fullUnitsMissing);
            }
            sb.Append("  |");
            foreach (var b in row) sb.Append(b is >= 0x20 and < 0x7f ? (char)b : '.');
            sb.Append("|\n");
        }
        return sb.ToString();
    }

    static string DiffSummary(string expected, string actual)
    {
        var e = expected.Split('\n');
        var a = actual.Split('\n');
        var sb = new StringBuilder();
        sb.Append($"approved: {e.Length} lines ({ByteCount(e)}); received: {a.Length} lines ({ByteCount(a)})\n");
        int shown = 0, differing = 0;
        for (int i = 0; i < Math.Max(e.Length, a.Length); i++)
        {
            string? el = i < e.Length ? e[i] : null;
            string? al = i < a.Length ? a[i] : null;
            if (el == al) continue;
            differing++;
            if (shown >= MaxDiffLines) continue;
            shown++;
            sb.Append($"line {i + 1}:\n");
            sb.Append("  - ").Append(el ?? "<none>").Append('\n');
            sb.Append("  + ").Append(al ?? "<none>").Append('\n');
        }
        if (differing > shown) sb.Append($"... and {differing - shown} more differing lines\n");
        return sb.ToString();
    }

    static string ByteCount(string[] lines)
    {
        foreach (var l in lines)
            if (l.StartsWith("# ") && l.Contains(" bytes"))
            {
                var word = l[2..].Split(' ')[0];
                if (int.TryParse(word, out _)) return word + " bytes";
            }
        return "? bytes";
    }

    static void Write(string path, string text)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text, new UTF8Encoding(false));
    }

    static string Normalize(string s) => s.Replace("\r\n", "\n");

    static void ValidateName(string name)
    {
        if (string.IsNullOrEmpty(name)) throw new ArgumentException("empty snapshot name");
        foreach (var c in name)
            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.'))
                throw new ArgumentException($"snapshot name '{name}' may only use letters, digits, '_', '-', '.'");
    }

    static string LocateSnapshotDirectory()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Venus.sln")))
                return Path.Combine(dir.FullName, "tests", "Venus.Protocol.Tests", "Snapshots");
        throw new InvalidOperationException(
            $"Venus.sln not found above {AppContext.BaseDirectory}; snapshot tests must run from the source tree");
    }
}
