using System.Text.RegularExpressions;
using Venus.Codegen.Registry;

namespace Venus.Codegen.Model;

/// <summary>
/// Decides, from vk.xml plus our Venus definitions, what travels and how: which commands have a
/// body, which extensions the protocol covers, which structs are reachable, and the wire shape of
/// every member (venus-protocol.md §1).
/// </summary>
public sealed class ProtocolModel
{
    public VkRegistry Reg { get; }
    public Dictionary<string, TypeRef> TypeRefs { get; } = new();
    public Dictionary<string, StructModel> Structs { get; } = new();
    public List<CommandModel> Commands { get; } = new();
    /// <summary>Every VkCommandTypeEXT name (primary and alias) with its value.</summary>
    public List<(string Name, int Value, string? AliasOf)> CommandTypes { get; } = new();
    public List<RegExtension> CoveredExtensions { get; } = new();
    public HashSet<string> NativeCommands { get; } = new();
    public List<string> Warnings { get; } = new();

    static readonly Dictionary<string, (string cs, string method, string methodCs, int wire, int native)> Scalars = new()
    {
        ["uint8_t"] = ("byte", "U8", "byte", 4, 1),
        ["int8_t"] = ("sbyte", "I8", "sbyte", 4, 1),
        ["uint16_t"] = ("ushort", "U16", "ushort", 4, 2),
        ["int16_t"] = ("short", "I16", "short", 4, 2),
        ["uint32_t"] = ("uint", "U32", "uint", 4, 4),
        ["int32_t"] = ("int", "I32", "int", 4, 4),
        ["int"] = ("int", "I32", "int", 4, 4),
        ["uint64_t"] = ("ulong", "U64", "ulong", 8, 8),
        ["int64_t"] = ("long", "I64", "long", 8, 8),
        ["float"] = ("float", "F32", "float", 4, 4),
        ["double"] = ("double", "F64", "double", 8, 8),
        ["size_t"] = ("nuint", "SizeT", "nuint", 8, 8),
    };

    public ProtocolModel(VkRegistry reg)
    {
        Reg = reg;
        BuildCommandTypes();
        BuildStructs();
        BuildCommands();
        BuildCoverage();
        MarkUsed();
        BuildNativeCommandSet();
        foreach (var sm in Structs.Values) MinWire(sm);
    }

    readonly HashSet<string> _minDone = new();

    int MinWire(StructModel sm)
    {
        if (_minDone.Contains(sm.Name) || !sm.Encodable) return sm.MinWireSize;
        _minDone.Add(sm.Name);
        int n = 0;
        if (sm.IsUnion)
        {
            // tag + the smallest encodable member
            n = 4 + sm.Fields.Where(f => f.Unsupported == null && IsFieldEncodable(f)).Select(FieldMin).DefaultIfEmpty(0).Min();
        }
        else
            foreach (var f in sm.Fields) n += FieldMin(f);
        sm.MinWireSize = n;
        return n;
    }

    int FieldMin(FieldModel f) => f.Shape switch
    {
        FieldShape.SType => 4,
        FieldShape.Value => f.Elem.Struct != null ? MinWire(f.Elem.Struct) : f.Elem.WireSize,
        FieldShape.FixedArray => 8 + (f.Elem.Struct != null ? f.FixedLen * MinWire(f.Elem.Struct)
                                      : f.Elem.Kind == TypeKind.Handle ? 8 * f.FixedLen
                                      : (f.FixedLen * Math.Max(f.Elem.NativeSize, 1) + 3) & ~3),
        _ => 8,
    };

    // ---- types -------------------------------------------------------------------------------

    public TypeRef TypeOf(string name)
    {
        if (TypeRefs.TryGetValue(name, out var tr)) return tr;
        tr = MakeTypeRef(name);
        TypeRefs[name] = tr;
        return tr;
    }

    TypeRef MakeTypeRef(string name)
    {
        if (Scalars.TryGetValue(name, out var s))
            return new TypeRef { VkName = name, Kind = TypeKind.Scalar, Cs = s.cs, Method = s.method, MethodCs = s.methodCs, WireSize = s.wire, NativeSize = s.native };
        if (name == "char") return new TypeRef { VkName = name, Kind = TypeKind.Char, Cs = "byte", NativeSize = 1, WireSize = 1 };
        if (name == "void") return new TypeRef { VkName = name, Kind = TypeKind.Void, Cs = "void", NativeSize = 1, WireSize = 1 };
        var t = Reg.Resolve(name);
        if (t == null) return Opaque(name);
        switch (t.Category)
        {
            case "basetype":
                if (t.BaseType != null && Scalars.TryGetValue(t.BaseType, out var bs) && t.Name != "VkRemoteAddressNV")
                    return new TypeRef { VkName = name, Kind = TypeKind.Scalar, Cs = bs.cs, Method = bs.method, MethodCs = bs.methodCs, WireSize = bs.wire, NativeSize = bs.native };
                return Opaque(name);
            case "bitmask":
                {
                    bool wide = t.BaseType == "VkFlags64";
                    return new TypeRef { VkName = name, Kind = TypeKind.Scalar, Cs = wide ? "ulong" : "uint", Method = wide ? "U64" : "U32", MethodCs = wide ? "ulong" : "uint", WireSize = wide ? 8 : 4, NativeSize = wide ? 8 : 4 };
                }
            case "enum":
                {
                    var en = Reg.Enums.GetValueOrDefault(t.Name);
                    bool wide = en?.BitWidth == 64;
                    bool bits = en?.IsBitmask == true;
                    // Enums travel as int32 (§1.1); 64-bit FlagBits2 enums as u64.
                    string cs = en != null ? t.Name : (wide ? "ulong" : "int");
                    return new TypeRef
                    {
                        VkName = name, Kind = TypeKind.Enum, Cs = cs,
                        Method = wide ? "U64" : (bits ? "U32" : "I32"), MethodCs = wide ? "ulong" : (bits ? "uint" : "int"),
                        WireSize = wide ? 8 : 4, NativeSize = wide ? 8 : 4,
                    };
                }
            case "handle":
                {
                    long objType = 0;
                    if (t.ObjTypeEnum != null && Reg.Enums.TryGetValue("VkObjectType", out var ot))
                        objType = ot.Values.FirstOrDefault(v => v.Name == t.ObjTypeEnum)?.Value ?? 0;
                    return new TypeRef { VkName = t.Name, Kind = TypeKind.Handle, Cs = "ulong", WireSize = 8, NativeSize = 8, ObjectType = objType, Dispatchable = t.Dispatchable };
                }
            case "struct":
                return new TypeRef { VkName = t.Name, Kind = TypeKind.Struct, Cs = t.Name };
            case "union":
                return new TypeRef { VkName = t.Name, Kind = TypeKind.Union, Cs = t.Name };
            case "funcpointer":
                return new TypeRef { VkName = name, Kind = TypeKind.FuncPointer, Cs = "nint", NativeSize = 8 };
            default:
                return Opaque(name);
        }
    }

    static TypeRef Opaque(string name) => new() { VkName = name, Kind = TypeKind.Opaque, Cs = "nint", NativeSize = 8 };

    // ---- command types -----------------------------------------------------------------------

    void BuildCommandTypes()
    {
        if (!Reg.Enums.TryGetValue("VkCommandTypeEXT", out var ct))
            throw new InvalidDataException("the Venus definitions lack the VkCommandTypeEXT enum");
        var byName = ct.Values.ToDictionary(v => v.Name);
        foreach (var v in ct.Values)
        {
            long value = v.Value;
            string? target = v.Alias;
            var cur = v;
            for (int i = 0; cur.Alias != null && i < 8; i++) cur = byName[cur.Alias];
            CommandTypes.Add((v.Name, (int)cur.Value, target));
        }
    }

    static string CommandNameOf(string enumName) => enumName["VK_COMMAND_TYPE_".Length..^"_EXT".Length];

    // ---- structs -----------------------------------------------------------------------------

    void BuildStructs()
    {
        foreach (var t in Reg.Types.Values.Where(t => (t.Category == "struct" || t.Category == "union") && t.Alias == null))
        {
            var sm = new StructModel { Name = t.Name, Reg = t };
            Structs[t.Name] = sm;
            TypeOf(t.Name).Struct = sm;
        }
        foreach (var sm in Structs.Values) BuildStructFields(sm);
        // pNext extenders, canonical names
        foreach (var sm in Structs.Values)
            foreach (var parent in sm.Reg.StructExtends)
            {
                var p = Reg.Resolve(parent);
                if (p != null && Structs.TryGetValue(p.Name, out var pm) && !pm.Extenders.Contains(sm)) pm.Extenders.Add(sm);
            }
        foreach (var sm in Structs.Values) sm.Extenders.Sort((a, b) => a.STypeValue.CompareTo(b.STypeValue));
        // origin: core version and extension numbers
        var aliasesOf = Reg.Types.Values.Where(t => t.Alias != null).GroupBy(t => Reg.Resolve(t.Name)?.Name ?? "").ToDictionary(g => g.Key, g => g.Select(x => x.Name).ToList());
        foreach (var sm in Structs.Values)
        {
            var names = new List<string> { sm.Name };
            if (aliasesOf.TryGetValue(sm.Name, out var al)) names.AddRange(al);
            foreach (var f in Reg.Features)
                if (names.Any(f.Types.Contains))
                {
                    uint v = (uint)((f.Major << 22) | (f.Minor << 12));
                    if (sm.CoreVersion == 0 || v < sm.CoreVersion) sm.CoreVersion = v;
                }
            foreach (var x in Reg.Extensions.Values)
                if (names.Any(x.Types.Contains) && !sm.Extensions.Contains(x.Number)) sm.Extensions.Add(x.Number);
            if (sm.IsUnion)
            {
                sm.SelectedUnion = sm.Reg.Members.Count > 0 && sm.Reg.Members.All(m => m.Selection != null);
                if (Reg.UnionTags.TryGetValue(sm.Name, out var tag)) sm.DefaultTag = tag;
                else if (!sm.SelectedUnion) sm.Unsupported = "union without selection values or a default tag";
                if (sm.SelectedUnion)
                    foreach (var f in sm.Fields)
                        foreach (var sel in f.Reg.Selection!.Split(','))
                            f.Selection.Add(EnumValueAny(sel));
            }
            if (Reg.BlockedTypes.Contains(sm.Name)) sm.Unsupported = "blocked by the protocol";
            foreach (var f in sm.Fields)
                if (Reg.Conditions.TryGetValue((sm.Name, f.Name), out var cond)) f.Condition = cond;
        }
        // encodability needs a fixed point: a struct is encodable when all its fields are
        bool changed = true;
        while (changed)
        {
            changed = false;
            foreach (var sm in Structs.Values.Where(s => s.Encodable))
            {
                string? why = WhyNotEncodable(sm);
                if (why != null) { sm.Unsupported = why; changed = true; }
            }
        }
    }

    string? WhyNotEncodable(StructModel sm)
    {
        if (sm.HasBitfields) return "bit-field members";
        if (sm.IsUnion && sm.SelectedUnion)
            return sm.Fields.Where(f => f.Unsupported == null && IsFieldEncodable(f)).Any() ? null : "no encodable member";
        if (sm.IsUnion)
        {
            if (sm.DefaultTag >= sm.Fields.Count) return "default tag out of range";
            var f = sm.Fields[sm.DefaultTag];
            return f.Unsupported ?? (IsFieldEncodable(f) ? null : $"default member {f.Name} is not encodable");
        }
        foreach (var f in sm.Fields)
        {
            if (f.Unsupported != null) return $"{f.Name}: {f.Unsupported}";
            if (!IsFieldEncodable(f)) return $"{f.Name}: {f.Elem.VkName} is not encodable";
        }
        return null;
    }

    static bool IsFieldEncodable(FieldModel f)
    {
        if (f.Shape is FieldShape.SType or FieldShape.PNext or FieldShape.AllocationCallbacks or FieldShape.Skipped) return true;
        return f.Elem.Kind switch
        {
            TypeKind.Struct or TypeKind.Union => f.Elem.Struct!.Encodable,
            TypeKind.FuncPointer or TypeKind.Opaque => false,
            TypeKind.Void => f.Shape == FieldShape.Blob,
            _ => true,
        };
    }

    void BuildStructFields(StructModel sm)
    {
        var members = sm.Reg.Members;
        foreach (var m in members)
        {
            if (m.BitField != 0) sm.HasBitfields = true;
            var f = ClassifyMember(sm.Name, m, members, isParam: false, ownerIsOutput: sm.Reg.ReturnedOnly);
            if (f.Shape == FieldShape.SType)
            {
                sm.STypeName = m.Values?.Split(',')[0];
                if (sm.STypeName != null)
                {
                    if (Reg.Enums["VkStructureType"].Values.Any(v => v.Name == sm.STypeName)) sm.STypeValue = EnumValue("VkStructureType", sm.STypeName);
                    else { sm.Unsupported = "its sType is not part of the Vulkan API"; sm.Native = false; }
                }
            }
            if (f.Shape == FieldShape.PNext) sm.HasPNext = true;
            f.Selector = m.Selector;
            sm.Fields.Add(f);
        }
        // A len member declared after its array travels before it (the decoder needs the count first).
        for (int i = 0; i < sm.Fields.Count; i++)
        {
            var f = sm.Fields[i];
            if (f.LenName == null) continue;
            int li = sm.Fields.FindIndex(x => x.Name == f.LenName);
            if (li > i) { var lf = sm.Fields[li]; sm.Fields.RemoveAt(li); sm.Fields.Insert(i, lf); }
        }
        foreach (var f in sm.Fields)
            if (f.LenName != null && f.Shape is FieldShape.Array or FieldShape.Blob or FieldShape.StringArray)
            {
                var lf = sm.Fields.FirstOrDefault(x => x.Name == f.LenName);
                if (lf != null) lf.IsLenOfArray = true;
            }
        foreach (var f in sm.Fields) f.NativeCs = NativeType(f.Reg, f.Elem);
    }

    long EnumValueAny(string valueName)
    {
        foreach (var en in Reg.Enums.Values)
            if (en.Values.Any(v => v.Name == valueName)) return EnumValue(en.Name, valueName);
        throw new InvalidDataException($"no enum has {valueName}");
    }

    long EnumValue(string enumName, string valueName)
    {
        var en = Reg.Enums[enumName];
        for (int i = 0; i < 8; i++)
        {
            var v = en.Values.FirstOrDefault(x => x.Name == valueName);
            if (v == null) throw new InvalidDataException($"{enumName} has no {valueName}");
            if (v.Alias == null) return v.Value;
            valueName = v.Alias;
        }
        throw new InvalidDataException($"alias loop at {valueName}");
    }

    /// <summary>C# type of a member in a native struct or a parameter in a native signature.</summary>
    public string NativeType(RegMember m, TypeRef elem)
    {
        string baseCs = elem.Kind switch
        {
            TypeKind.Void => "void",
            TypeKind.Char => "byte",
            _ => elem.Cs,
        };
        if (elem.Kind == TypeKind.Opaque && m.PointerDepth > 0) baseCs = "void";
        if (elem.Kind == TypeKind.FuncPointer) return "nint";
        return baseCs + new string('*', m.PointerDepth);
    }

    FieldModel ClassifyMember(string owner, RegMember m, List<RegMember> siblings, bool isParam, bool ownerIsOutput)
    {
        var elem = TypeOf(m.Type);
        var f = new FieldModel { Name = m.Name, Reg = m, Elem = elem, IsConst = m.IsConst };
        if (Reg.Skipped.ContainsKey((owner, m.Name))) { f.Shape = FieldShape.Skipped; return f; }
        var optional = m.Optional?.Split(',') ?? Array.Empty<string>();
        // Members the spec lets other members make irrelevant (noautovalidity) may arrive as NULL:
        // VkWriteDescriptorSet's arrays for other descriptor types, for one (§1.3, §1.8).
        f.Optional = (optional.Length > 0 && optional[0] == "true") || m.NoAutoValidity;
        f.NullHandleAllowed = m.NoAutoValidity || (m.PointerDepth == 0 ? f.Optional : optional.Length > 1 && optional[1] == "true");
        if (!isParam && m.Name == "sType" && m.Type == "VkStructureType") { f.Shape = FieldShape.SType; return f; }
        if (!isParam && m.Name == "pNext") { f.Shape = FieldShape.PNext; return f; }
        if (m.Type == "VkAllocationCallbacks" && m.PointerDepth == 1) { f.Shape = FieldShape.AllocationCallbacks; return f; }
        if (m.FixedDim != null)
        {
            if (m.FixedDim2 != null) { f.Unsupported = "two-dimensional array"; f.Shape = FieldShape.FixedArray; return f; }
            f.Shape = FieldShape.FixedArray;
            f.FixedLen = (int)Reg.ResolveConstant(m.FixedDim);
            if (m.PointerDepth != 0) f.Unsupported = "array of pointers";
            return f;
        }
        if (m.PointerDepth == 0)
        {
            f.Shape = FieldShape.Value;
            if (elem.Kind == TypeKind.Void) f.Unsupported = "void value";
            return f;
        }
        // pointers
        var len = m.AltLen ?? m.Len;
        if (m.Len != null && m.Len.StartsWith("latexmath") && m.AltLen == null) { f.Unsupported = "len only in latexmath"; }
        if (elem.Kind == TypeKind.Char && m.PointerDepth == 1 && m.Len == "null-terminated")
        {
            f.Shape = FieldShape.String;
            return f;
        }
        if (elem.Kind == TypeKind.Char && m.PointerDepth == 2 && m.Len != null && m.Len.EndsWith(",null-terminated"))
        {
            f.Shape = FieldShape.StringArray;
            SetLen(f, m.Len.Split(',')[0], siblings, isParam);
            return f;
        }
        if (m.PointerDepth == 2)
        {
            // An array of pointers to arrays: "count,1" in vk.xml, or an inner count from our definitions.
            var parts = (len ?? "").Split(',');
            string? inner = parts.Length == 2 && parts[1] == "1" ? "1UL"
                : parts.Length == 1 && Reg.InnerLens.TryGetValue((owner, m.Name), out var il) ? "(ulong)(" + il + ")" : null;
            if (inner == null || elem.Kind is not (TypeKind.Struct or TypeKind.Scalar) || !m.IsConst)
            { f.Shape = FieldShape.Pointer; f.Unsupported = "pointer to pointer"; return f; }
            f.Shape = FieldShape.PointerArray;
            f.InnerLenExpr = inner;
            SetLen(f, parts[0], siblings, isParam);
            return f;
        }
        if (len == null || len == "1" && isParam)
        {
            f.Shape = FieldShape.Pointer;
            if (elem.Kind == TypeKind.Void) f.Unsupported = "untyped pointer without a size";
            return f;
        }
        if (len.Contains(',')) { f.Shape = FieldShape.Array; f.Unsupported = "nested len"; return f; }
        bool bytes = elem.Kind == TypeKind.Void;
        f.Shape = bytes ? FieldShape.Blob : FieldShape.Array;
        SetLen(f, len, siblings, isParam);
        return f;
    }

    void SetLen(FieldModel f, string len, List<RegMember> siblings, bool isParam)
    {
        // A plain sibling name, a pointer-to-count parameter, a member of a struct parameter, or an expression.
        if (Regex.IsMatch(len, @"^[A-Za-z_][A-Za-z0-9_]*$"))
        {
            var sib = siblings.FirstOrDefault(s => s.Name == len);
            if (sib == null) { f.Unsupported = $"len {len} is not a sibling"; return; }
            f.LenName = len;
            f.LenExpr = sib.PointerDepth == 1 ? $"(ulong)(*{{0}}{len})" : $"(ulong){{0}}{len}";
            if (sib.PointerDepth == 1) f.LenExpr = $"({{0}}{len} == null ? 0UL : (ulong)(*{{0}}{len}))";
            return;
        }
        var arrow = Regex.Match(len, @"^([A-Za-z_][A-Za-z0-9_]*)->([A-Za-z_][A-Za-z0-9_]*)$");
        if (arrow.Success)
        {
            var p = arrow.Groups[1].Value;
            f.LenExpr = $"({{0}}{p} == null ? 0UL : (ulong){{0}}{p}->{arrow.Groups[2].Value})";
            return;
        }
        // simple arithmetic over sibling names and constants: codeSize / 4, (samples + 31) / 32, 2*VK_UUID_SIZE
        string expr = Regex.Replace(len, @"[A-Za-z_][A-Za-z0-9_]*", mm =>
        {
            var id = mm.Value;
            if (Reg.Constants.TryGetValue(id, out var c)) return c + "UL";
            if (siblings.Any(s => s.Name == id)) return $"(ulong){{0}}{id}";
            throw new InvalidDataException($"len expression {len}: unknown name {id}");
        });
        f.LenExpr = "(" + expr.Replace(" ", "") + ")";
        f.LenExpr = Regex.Replace(f.LenExpr, @"(?<![\w.{])(\d+)(?![\w.}])", "$1UL");
    }

    // ---- commands ----------------------------------------------------------------------------

    void BuildCommands()
    {
        foreach (var (name, value, alias) in CommandTypes)
        {
            if (alias != null) continue;
            var cmdName = CommandNameOf(name);
            var aliases = CommandTypes.Where(c => c.AliasOf == name).Select(c => CommandNameOf(c.Name)).ToList();
            RegCommand? rc = Reg.ResolveCommand(cmdName);
            foreach (var a in aliases) rc ??= Reg.ResolveCommand(a);
            var cm = new CommandModel { Name = cmdName, TypeValue = value, Reg = rc, Aliases = aliases };
            Commands.Add(cm);
            if (rc == null) { cm.Unsupported = "not in this vk.xml (newer than the registry)"; continue; }
            if (Reg.LocalOnly.TryGetValue(cmdName, out var why)) cm.Unsupported = why;
            cm.Return = rc.ReturnType == "void" ? null : TypeOf(rc.ReturnType);
            if (cm.Return != null && cm.Return.Kind is not (TypeKind.Scalar or TypeKind.Enum))
                cm.Unsupported ??= $"returns {rc.ReturnType}";
            var ps = rc.Params;
            foreach (var p in ps)
            {
                var f = ClassifyMember(cmdName, p, ps, isParam: true, ownerIsOutput: false);
                f.NativeCs = NativeType(p, f.Elem);
                if (f.Reg.FixedDim != null) f.NativeCs = f.Elem.Cs + "*";
                f.IsOutput = p.PointerDepth > 0 && !p.IsConst && f.Shape != FieldShape.AllocationCallbacks;
                cm.Params.Add(f);
            }
            foreach (var f in cm.Params)
            {
                if (f.LenName == null) continue;
                var lf = cm.Params.First(x => x.Name == f.LenName);
                if (lf.IsOutput && lf.Shape == FieldShape.Pointer) lf.IsInOutCount = true;
            }
            foreach (var f in cm.Params)
            {
                if (f.Unsupported != null) { cm.Unsupported ??= $"{f.Name}: {f.Unsupported}"; continue; }
                if (f.IsOutput && f.Shape == FieldShape.Pointer && f.Elem.Kind == TypeKind.Void) cm.Unsupported ??= $"{f.Name}: untyped output";
                if (f.Elem.Kind is TypeKind.FuncPointer or TypeKind.Opaque && f.Shape != FieldShape.AllocationCallbacks) cm.Unsupported ??= $"{f.Name}: {f.Elem.VkName} cannot travel";
                if (f.Elem.Kind is TypeKind.Void && f.Shape is not (FieldShape.Blob or FieldShape.AllocationCallbacks)) cm.Unsupported ??= $"{f.Name}: untyped pointer";
            }
        }
    }

    public bool StructsEncodable(CommandModel cm) =>
        cm.Params.All(f => f.Shape == FieldShape.AllocationCallbacks || f.Elem.Struct == null || f.Elem.Struct.Encodable);

    // ---- coverage ----------------------------------------------------------------------------

    void BuildCoverage()
    {
        foreach (var cm in Commands.Where(c => c.Unsupported == null && !StructsEncodable(c)))
        {
            var bad = cm.Params.First(f => f.Elem.Struct != null && !f.Elem.Struct.Encodable && f.Shape != FieldShape.AllocationCallbacks);
            cm.Unsupported = $"{bad.Name}: {bad.Elem.VkName}: {bad.Elem.Struct!.Unsupported}";
        }
        var numbered = new HashSet<string>();
        foreach (var cm in Commands.Where(c => c.Encodable))
        {
            numbered.Add(cm.Name);
            foreach (var a in cm.Aliases) numbered.Add(a);
            numbered.Add(cm.Reg!.Name);
            foreach (var c in Reg.Commands.Values.Where(c => c.Alias == cm.Reg!.Name)) numbered.Add(c.Name);
        }
        foreach (var x in Reg.Extensions.Values.OrderBy(x => x.Number))
        {
            if (!x.Supported.Split(',').Contains("vulkan") || x.Platform != null) continue;
            if (!Reg.ProtocolExtensions.ContainsKey(x.Name)) continue;
            // The protocol's table is authoritative: commands it leaves to the guest (templates, host
            // copies through the MESA commands, ...) do not take the extension away.
            foreach (var c in x.Commands.Where(c => !numbered.Contains(c))) Warnings.Add($"{x.Name}: {c} does not travel");
            // A covered extension's structs must all be encodable, or the guest could not use it.
            bool ok = x.Types.All(tn =>
            {
                var t = Reg.Resolve(tn);
                return t == null || t.Category is not ("struct" or "union") || Structs[t.Name].Encodable;
            });
            if (!ok) Warnings.Add($"{x.Name}: some of its structs cannot travel");
            CoveredExtensions.Add(x);
        }
    }

    public bool Covers(StructModel sm) =>
        sm.CoreVersion != 0 || sm.Extensions.Any(n => CoveredExtensions.Any(x => x.Number == n)) || sm.Reg.Source != "vk.xml";

    public IEnumerable<StructModel> ChainMembers(StructModel root) =>
        root.Extenders.Where(e => e.Encodable && Covers(e));

    void MarkUsed()
    {
        var work = new Stack<(StructModel s, bool output)>();
        void Push(StructModel s, bool output)
        {
            if (!s.Encodable) return;
            if (s.Used && (!output || s.Output)) return;
            s.Used = true;
            if (output) s.Output = true;
            work.Push((s, output));
        }
        foreach (var cm in Commands.Where(c => c.Encodable))
            foreach (var p in cm.Params)
                if (p.Elem.Struct != null && p.Shape != FieldShape.AllocationCallbacks)
                    Push(p.Elem.Struct, p.IsOutput);
        while (work.Count > 0)
        {
            var (s, output) = work.Pop();
            foreach (var f in s.Fields)
                if (f.Elem.Struct != null && f.Shape is not (FieldShape.SType or FieldShape.PNext))
                {
                    if (s.IsUnion && s.Fields.IndexOf(f) != s.DefaultTag && !f.Elem.Struct.Encodable) continue;
                    Push(f.Elem.Struct, output);
                }
            if (s.HasPNext)
                foreach (var e in ChainMembers(s)) Push(e, output);
        }
    }

    void BuildNativeCommandSet()
    {
        foreach (var f in Reg.Features) foreach (var c in f.Commands) NativeCommands.Add(c);
        foreach (var x in Reg.Extensions.Values)
            if (x.Supported.Split(',').Contains("vulkan") && x.Platform == null)
                foreach (var c in x.Commands) NativeCommands.Add(c);
    }

    /// <summary>Structs whose native layout is emitted: everything not tied to a platform extension.</summary>
    public IEnumerable<StructModel> NativeStructs()
    {
        var platformTypes = new HashSet<string>(Reg.Extensions.Values.Where(x => x.Platform != null).SelectMany(x => x.Types));
        var nonPlatform = new HashSet<string>(Reg.Extensions.Values.Where(x => x.Platform == null && x.Supported.Split(',').Contains("vulkan")).SelectMany(x => x.Types));
        foreach (var f in Reg.Features) nonPlatform.UnionWith(f.Types);
        return Structs.Values.Where(s => s.Native).Where(s => s.Reg.Source != "vk.xml" || (nonPlatform.Contains(s.Name) && !platformTypes.Contains(s.Name)) || (s.Reg.Source == "vk.xml" && !platformTypes.Contains(s.Name) && s.Used))
            .Where(s => s.Fields.All(f => f.Elem.Kind != TypeKind.Opaque || f.Reg.PointerDepth > 0))
            .OrderBy(s => s.Name, StringComparer.Ordinal);
    }
}
