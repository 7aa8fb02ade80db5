using Venus.Codegen.Model;
using Venus.Codegen.Registry;

namespace Venus.Codegen.Emit;

/// <summary>
/// Function-pointer tables for the real Vulkan driver (host) and the loader (tests, tools):
/// <c>delegate* unmanaged</c> fields loaded by name through vkGetInstanceProcAddr / vkGetDeviceProcAddr.
/// </summary>
public sealed class DispatchEmitter
{
    readonly ProtocolModel _m;
    readonly NativeEmitter _native;

    public DispatchEmitter(ProtocolModel m, NativeEmitter native)
    {
        _m = m;
        _native = native;
    }

    /// <summary>
    /// C# types of a command's C ABI: one per parameter, then the return type; null when the command
    /// has no native signature here (a parameter of an opaque or non-native type passed by value).
    /// The tables' <c>delegate* unmanaged</c> fields and the guest ICD's exports both use it.
    /// </summary>
    public List<string>? NativeSignature(RegCommand c)
    {
        var parts = new List<string>();
        foreach (var p in c.Params)
        {
            var t = _m.TypeOf(p.Type);
            string cs;
            if (p.FixedDim != null) cs = (t.Kind == TypeKind.Char ? "byte" : t.Cs) + "*";
            else if (t.Kind is TypeKind.Opaque) { if (p.PointerDepth == 0) return null; cs = "void" + new string('*', p.PointerDepth); }
            else if (t.Kind == TypeKind.FuncPointer) cs = "nint";
            else if (t.Struct != null && !_native.NativeStructNames.Contains(t.Struct.Name)) cs = "void" + new string('*', p.PointerDepth);
            else if (t.Struct != null && p.PointerDepth == 0) return null;
            else cs = _m.NativeType(p, t);
            parts.Add(cs);
        }
        var r = c.ReturnType == "void" ? null : _m.TypeOf(c.ReturnType);
        parts.Add(r == null ? "void" : r.Kind == TypeKind.FuncPointer ? "nint" : r.Cs);
        return parts;
    }

    string? Signature(RegCommand c) =>
        NativeSignature(c) is { } parts ? "delegate* unmanaged<" + string.Join(", ", parts) + ">" : null;

    bool IsDeviceLevel(RegCommand c)
    {
        if (c.Params.Count == 0) return false;
        var first = _m.Reg.Resolve(c.Params[0].Type);
        return first != null && first.Category == "handle" && first.Name is "VkDevice" or "VkQueue" or "VkCommandBuffer" && c.Name != "vkGetDeviceProcAddr";
    }

    /// <summary>The other names of a defining command (vk.xml aliases, followed transitively), in name order.</summary>
    List<string> Aliases(RegCommand c) =>
        _m.Reg.Commands.Values.Where(a => a.Alias != null && a.Name != c.Name && _m.Reg.ResolveCommand(a.Name)?.Name == c.Name)
            .Select(a => a.Name).OrderBy(n => n, StringComparer.Ordinal).ToList();

    public string Emit()
    {
        var w = new CodeWriter();
        w.Line(CodeWriter.Header("Vulkan function-pointer tables."));
        w.Line("namespace Venus.Protocol.Vulkan;");
        var cmds = _m.NativeCommands.Select(n => _m.Reg.Commands.GetValueOrDefault(n)).Where(c => c != null && c.Alias == null)
            .Select(c => (c!, Signature(c!))).Where(x => x.Item2 != null).OrderBy(x => x.Item1.Name, StringComparer.Ordinal).ToList();
        foreach (var (table, device) in new[] { ("VkInstanceFunctions", false), ("VkDeviceFunctions", true) })
        {
            w.Line();
            w.Line(device
                ? "/// <summary>Device-level commands, loaded with vkGetDeviceProcAddr for one VkDevice.</summary>"
                : "/// <summary>Global, instance and physical-device commands, loaded with vkGetInstanceProcAddr.</summary>");
            w.Open($"public unsafe struct {table}");
            var mine = cmds.Where(x => IsDeviceLevel(x.Item1) == device).ToList();
            foreach (var (c, sig) in mine) w.Line($"public {sig} {c.Name};");
            w.Line();
            w.Line("/// <summary>");
            w.Line("/// Loads every entry point; ones the driver lacks stay null. A command is looked up by its");
            w.Line("/// defining name, then by its aliases: a device of an older version, or one with only the");
            w.Line("/// extension enabled, has it under the extension's name only (vkCmdPushDescriptorSetKHR).");
            w.Line("/// </summary>");
            w.Open("public void Load(delegate* unmanaged<nint, byte*, nint> getProcAddr, nint handle)");
            foreach (var (c, sig) in mine)
            {
                w.Line($"fixed (byte* n = \"{c.Name}\"u8) {c.Name} = ({sig})getProcAddr(handle, n);");
                foreach (var alias in Aliases(c))
                    w.Line($"if ({c.Name} == null) fixed (byte* n = \"{alias}\"u8) {c.Name} = ({sig})getProcAddr(handle, n);");
            }
            w.Close();
            w.Close();
        }
        return w.ToString();
    }
}
