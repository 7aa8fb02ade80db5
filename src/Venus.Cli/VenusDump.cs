using System.Text;
using Venus.Protocol;
using Venus.Protocol.Wire;

namespace Venus.Cli;

/// <summary>
/// <c>venus dump FILE</c>: reads a recording of venus-host or of our ICD (<see cref="VenusRecording"/>) and prints each command decoded, checking that it re-encodes to
/// the same bytes.
/// </summary>
public static class VenusDump
{
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

    /// <summary>Prints every command of every record (a record may hold several: our ICD records whole submissions).</summary>
    public static Summary Dump(byte[] data, TextWriter output)
    {
        int commands = 0, bad = 0, different = 0;
        using var arena = new VnArena();
        var line = new StringBuilder();
        foreach (VenusRecording.Record record in VenusRecording.Read(data))
        {
            var bytes = new ReadOnlySpan<byte>(data, record.Offset, record.Length);
            while (bytes.Length > 0)
            {
                commands++;
                line.Clear().Append('[').Append(record.Stream).Append("] ");
                arena.Reset();
                bool ok = VenusCommandText.Describe(bytes, line, arena, out int used, out bool same);
                if (!ok || used <= 0 || used > bytes.Length)
                {
                    // The rest of the record cannot be split into commands.
                    bad++;
                    line.Append("  !! does not decode");
                    output.WriteLine(line.ToString());
                    break;
                }
                if (!same) { different++; line.Append("  !! re-encodes differently"); }
                output.WriteLine(line.ToString());
                bytes = bytes[used..];
            }
        }
        return new Summary(commands, bad, different);
    }
}
