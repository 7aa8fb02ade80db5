using System.Text;
using Venus.Protocol;
using Venus.Protocol.Wire;

namespace Venus.Cli;

/// <summary>
/// <c>venus dump FILE</c>: reads a recording of venus-host (records of stream name and command
/// bytes, after a "VNUS" magic) and prints each command decoded, checking that it re-encodes to
/// the same bytes.
/// </summary>
public static class VenusDump
{
    const uint Magic = 0x53554e56;

    public sealed record Summary(int Commands, int Undecodable, int Different);

    public static int Run(ReadOnlySpan<string> args, TextWriter stdout, TextWriter stderr)
    {
        string? file = null;
        bool check = false;
        foreach (var a in args)
        {
            if (a == "--check") check = true;
            else if (a.StartsWith('-')) return VenusCli.UsageError(stderr, $"dump: unknown option '{a}'");
            else if (file == null) file = a;
            else return VenusCli.UsageError(stderr, "dump: more than one file");
        }
        if (file == null) return VenusCli.UsageError(stderr, "dump: no file given");
        if (!File.Exists(file)) { stderr.WriteLine($"venus dump: {file}: no such file"); return VenusCli.ExitFailed; }
        Summary summary;
        try
        {
            summary = Dump(File.ReadAllBytes(file), stdout);
        }
        catch (InvalidDataException e)
        {
            stderr.WriteLine($"venus dump: {file}: {e.Message}");
            return VenusCli.ExitFailed;
        }
        stderr.WriteLine($"venus dump: {summary.Commands} commands, {summary.Undecodable} undecodable, {summary.Different} re-encode differently");
        return check && (summary.Undecodable > 0 || summary.Different > 0) ? VenusCli.ExitFailed : VenusCli.ExitOk;
    }

    public static Summary Dump(byte[] data, TextWriter output)
    {
        if (data.Length < 4 || BitConverter.ToUInt32(data, 0) != Magic) throw new InvalidDataException("not a venus-host recording (no VNUS magic)");
        int pos = 4, commands = 0, bad = 0, different = 0;
        using var arena = new VnArena();
        var line = new StringBuilder();
        while (pos < data.Length)
        {
            if (data.Length - pos < 4) throw new InvalidDataException($"record cut off at byte {pos}");
            int nameLen = BitConverter.ToInt32(data, pos);
            if (nameLen < 0 || nameLen > 256 || data.Length - pos - 4 < nameLen + 4) throw new InvalidDataException($"bad record at byte {pos}");
            string stream = Encoding.ASCII.GetString(data, pos + 4, nameLen);
            pos += 4 + nameLen;
            int len = BitConverter.ToInt32(data, pos);
            if (len < 8 || data.Length - pos - 4 < len) throw new InvalidDataException($"bad command length at byte {pos}");
            var command = new ReadOnlySpan<byte>(data, pos + 4, len);
            pos += 4 + len;
            commands++;
            line.Clear().Append('[').Append(stream).Append("] ");
            arena.Reset();
            bool ok = VenusCommandText.Describe(command, line, arena, out int used, out bool same);
            if (!ok || used != len) { bad++; line.Append("  !! does not decode"); }
            else if (!same) { different++; line.Append("  !! re-encodes differently"); }
            output.WriteLine(line.ToString());
        }
        return new Summary(commands, bad, different);
    }
}
