using System.Runtime.InteropServices;
using System.Text;

namespace Venus.GuestIcd.Loader;

internal enum ProcScope { Global, Instance, PhysicalDevice, Device }

/// <summary>One exported Vulkan command: its function, who dispatches it, and what exposes it.</summary>
internal readonly record struct ProcEntry(nint Function, ProcScope Scope, uint CoreVersion, string? Extension);

/// <summary>
/// Name → function for vkGetInstanceProcAddr / vkGetDeviceProcAddr / vk_icdGetPhysicalDeviceProcAddr:
/// every export, generated forwarding and hand-written (Families/) alike, is entered by the generator
/// (Generated/ProcTable.cs) from vk.xml and Definitions/icd.xml.
/// </summary>
internal static unsafe partial class ProcTable
{
    private static readonly Dictionary<string, ProcEntry> Table = Build();

    static partial void AddGenerated(Dictionary<string, ProcEntry> table);

    private static Dictionary<string, ProcEntry> Build()
    {
        var table = new Dictionary<string, ProcEntry>(StringComparer.Ordinal);
        AddGenerated(table);
        return table;
    }

    /// <summary>Whether this driver has an entry point under <paramref name="name"/>.</summary>
    public static bool Has(string name) => Table.ContainsKey(name);

    public static bool TryGet(byte* name, out ProcEntry entry)
    {
        entry = default;
        if (name == null)
            return false;
        string s = Marshal.PtrToStringUTF8((nint)name) ?? "";
        return Table.TryGetValue(s, out entry);
    }
}
