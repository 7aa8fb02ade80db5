using Venus.Protocol.Vulkan;
using Venus.Transport.Virtgpu;
using Venus.Transport.Vtest;

namespace Venus.GuestIcd.Runtime;

/// <summary>
/// The driver's log, on stderr with a "venus:" prefix. Errors (anything that becomes a failing
/// VkResult for a reason other than an ordinary Vulkan outcome) are always written; the rest only
/// when <c>VENUS_DEBUG</c> asks for it: <c>VENUS_DEBUG=1|all</c>, or a comma list of
/// <c>init</c> (transport and device set-up), <c>result</c> (every failing VkResult), <c>wait</c>
/// (each long fence wait the host's retire signal woke, <see cref="HostWake"/>).
/// </summary>
internal static class IcdLog
{
    private static readonly Lock Gate = new();
    public static readonly bool Init, Result, Wait;

    static IcdLog()
    {
        string flags = Environment.GetEnvironmentVariable("VENUS_DEBUG") ?? "";
        bool all = flags is "1" or "all" || flags.Contains("all", StringComparison.Ordinal);
        Init = all || flags.Contains("init", StringComparison.Ordinal);
        Result = all || flags.Contains("result", StringComparison.Ordinal);
        Wait = all || flags.Contains("wait", StringComparison.Ordinal);
    }

    public static void Error(string message) => Write(message);

    public static void WaitInfo(string message)
    {
        if (Wait)
            Write(message);
    }

    public static void Info(string message)
    {
        if (Init)
            Write(message);
    }

    private static void Write(string message)
    {
        try
        {
            lock (Gate)
                Console.Error.WriteLine("venus: " + message);
        }
        catch
        {
            // Logging must never fail a Vulkan call.
        }
    }
}
