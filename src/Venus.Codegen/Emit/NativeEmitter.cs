using Venus.Codegen.Model;

namespace Venus.Codegen.Emit;

/// <summary>The native binding layer: enums, constants and blittable C-ABI structs.</summary>
public sealed class NativeEmitter
{
    readonly ProtocolModel _m;
    public HashSet<string> NativeStructNames { get; } = new();

    public NativeEmitter(ProtocolModel m)
    {
        _m = m;
        var candidates = m.NativeStructs().ToDictionary(s => s.Name);
        // Drop structs that embed (by value or fixed array) a struct without a native layout.
        bool changed = true;
        while (changed)
        {
            changed = false;
            foreach (var s in candidates.Values.ToList())
                if (s.Fields.Any(f => f.Reg.PointerDepth == 0 && f.Elem.Struct != null && !candidates.ContainsKey(f.Elem.Struct.Name)))
                { candidates.Remove(s.Name); changed = true; }
        }
        NativeStructNames.UnionWith(candidates.Keys);
    }

    public string EmitEnums()
    {
        var w = new CodeWriter();
        w.Line(CodeWriter.Header("Vulkan enums and API constants."));
        w.Line("namespace Venus.Protocol.Vulkan;");
        w.Line();
        w.Open("public static class VkConstants");
        foreach (var (name, value) in _m.Reg.Constants.OrderBy(c => c.Key, StringComparer.Ordinal))
        {
            if (name.EndsWith("_EXTENSION_NAME") || name.EndsWith("_SPEC_VERSION")) continue;
            string type = value > uint.MaxValue || value < 0 ? "ulong" : "uint";
            w.Line($"public const {type} {name} = {(value < 0 ? $"unchecked((ulong){value})" : value + (type == "ulong" ? "UL" : "U"))};");
        }
        w.Close();
        foreach (var en in _m.Reg.Enums.Values.OrderBy(e => e.Name, StringComparer.Ordinal))
        {
            string under = en.BitWidth == 64 ? "ulong" : en.IsBitmask ? "uint" : "int";
            w.Line();
            if (en.IsBitmask) w.Line("[System.Flags]");
            w.Open($"public enum {en.Name} : {under}");
            var names = new HashSet<string>();
            foreach (var v in en.Values)
            {
                if (!names.Add(v.Name)) continue;
                if (v.Alias != null)
                {
                    if (en.Values.Any(x => x.Name == v.Alias)) w.Line($"{v.Name} = {v.Alias},");
                    continue;
                }
                string lit = under switch
                {
                    "ulong" => $"0x{(ulong)v.Value:X}UL",
                    "uint" => $"0x{(uint)v.Value:X}U",
                    _ => v.Value.ToString(),
                };
                w.Line($"{v.Name} = {lit},");
            }
            w.Close();
        }
        // "must be a valid VkX value": the host's decoder refuses any other value of an enum
        // (WireEmitter), where drivers would index their tables with it.
        w.Line();
        w.Line("/// <summary>");
        w.Line("/// Whether a value is one of vk.xml's values of an enum, per enum type (32-bit ones). A FlagBits");
        w.Line("/// type names one of its values where a member has that type (not its Flags mask); 0 passes");
        w.Line("/// there, as members vk.xml marks optional may hold it.");
        w.Line("/// </summary>");
        w.Open("public static class VkEnumCheck");
        foreach (var en in _m.Reg.Enums.Values.OrderBy(e => e.Name, StringComparer.Ordinal))
        {
            if (en.BitWidth == 64) continue;
            var values = en.Values.Where(v => v.Alias == null).Select(v => en.IsBitmask ? (long)(uint)v.Value : v.Value).ToList();
            if (values.Count == 0) continue;
            if (en.IsBitmask) values.Add(0);
            values = values.Distinct().Order().ToList();
            w.Line($"public static bool {en.Name}({(en.IsBitmask ? "uint" : "int")} v) => v is {string.Join(" or ", values)};");
        }
        w.Close();
        return w.ToString();
    }

    public string EmitStructs()
    {
        var w = new CodeWriter();
        w.Line(CodeWriter.Header("Blittable C-ABI layouts of the Vulkan structs (x86-64 / aarch64 LP64)."));
        w.Line("using System.Runtime.CompilerServices;");
        w.Line("using System.Runtime.InteropServices;");
        w.Line();
        w.Line("namespace Venus.Protocol.Vulkan;");
        var inlineArrays = new SortedSet<(string elem, int n)>();
        foreach (var name in NativeStructNames.OrderBy(n => n, StringComparer.Ordinal))
        {
            var s = _m.Structs[name];
            w.Line();
            if (s.IsUnion) w.Line("[StructLayout(LayoutKind.Explicit)]");
            else w.Line("[StructLayout(LayoutKind.Sequential)]");
            w.Open($"public unsafe partial struct {s.Name}");
            if (s.HasSType) w.Line($"public const VkStructureType SType = VkStructureType.{s.STypeName};");
            int bitAcc = 0; string bitName = "";
            for (int i = 0; i < s.Fields.Count; i++)
            {
                var f = s.Fields[i];
                string prefix = s.IsUnion ? "[FieldOffset(0)] public " : "public ";
                if (f.Reg.BitField != 0)
                {
                    // Adjacent bit-fields share one 32-bit unit in the C ABI.
                    bitName = bitName.Length == 0 ? f.Name : bitName + "_" + f.Name;
                    bitAcc += f.Reg.BitField;
                    if (bitAcc >= 32 || i + 1 == s.Fields.Count || s.Fields[i + 1].Reg.BitField == 0)
                    {
                        w.Line($"{prefix}uint {bitName};");
                        bitAcc = 0; bitName = "";
                    }
                    continue;
                }
                w.Line(prefix + FieldDecl(f, inlineArrays));
            }
            w.Close();
        }
        foreach (var (elem, n) in inlineArrays)
        {
            w.Line();
            w.Line($"[InlineArray({n})]");
            w.Open($"public struct {InlineArrayName(elem, n)}");
            w.Line($"public {elem} Element0;");
            w.Close();
        }
        return w.ToString();
    }

    public static string InlineArrayName(string elem, int n) => $"{elem}_Array{n}";

    string FieldDecl(FieldModel f, SortedSet<(string, int)> inlineArrays)
    {
        var r = f.Reg;
        string name = Escape(f.Name);
        if (r.FixedDim != null)
        {
            long n = _m.Reg.ResolveConstant(r.FixedDim);
            if (r.FixedDim2 != null) n *= _m.Reg.ResolveConstant(r.FixedDim2);
            string cs = f.Elem.Kind == TypeKind.Char ? "byte" : f.Elem.Cs;
            if (f.Elem.Kind is TypeKind.Scalar or TypeKind.Char || f.Elem.Kind == TypeKind.Handle)
                return $"fixed {cs} {name}[{n}];";
            if (f.Elem.Kind == TypeKind.Enum)
                return $"fixed {UnderlyingOf(f.Elem)} {name}[{n}];";
            inlineArrays.Add((cs, (int)n));
            return $"{InlineArrayName(cs, (int)n)} {name};";
        }
        string t = f.NativeCs;
        if (f.Elem.Struct != null && !NativeStructNames.Contains(f.Elem.Struct.Name)) t = "void" + new string('*', r.PointerDepth);
        return $"{t} {name};";
    }

    public string UnderlyingOf(TypeRef t) => t.MethodCs ?? "int";

    static readonly HashSet<string> Keywords = new() { "object", "string", "base", "event", "params", "fixed", "operator", "checked", "internal", "out", "ref", "in", "is", "as", "lock", "default" };
    public static string Escape(string n) => Keywords.Contains(n) ? "@" + n : n;
}
