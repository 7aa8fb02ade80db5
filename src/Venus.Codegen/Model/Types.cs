using Venus.Codegen.Registry;

namespace Venus.Codegen.Model;

/// <summary>What a type is on the wire and in C#.</summary>
public enum TypeKind { Scalar, Enum, Handle, Struct, Union, Char, Void, FuncPointer, Opaque }

public sealed class TypeRef
{
    public required string VkName { get; init; }
    public required TypeKind Kind { get; init; }
    /// <summary>C# type of a value of this type in native memory.</summary>
    public required string Cs { get; init; }
    /// <summary>Encoder/decoder method for scalars and enums: U32, I32, U64, F32, ...</summary>
    public string? Method { get; init; }
    /// <summary>Type used by the wire method (uint for U32, ...): enums are cast through it.</summary>
    public string? MethodCs { get; init; }
    /// <summary>Bytes on the wire for a single scalar (4 or 8).</summary>
    public int WireSize { get; init; }
    /// <summary>Native size of a scalar element (packed arrays of 1- and 2-byte scalars keep it).</summary>
    public int NativeSize { get; init; }
    public StructModel? Struct { get; set; }
    /// <summary>VkObjectType value of a handle (for the type check on lookup).</summary>
    public long ObjectType { get; init; }
    public bool Dispatchable { get; init; }
}

public enum FieldShape
{
    SType, PNext,
    Value,        // scalar, enum, handle, struct or union by value
    FixedArray,   // T name[N]
    Pointer,      // const T* / T* without len: u64 presence + T
    Array,        // pointer with len: u64 count + elements
    String,       // const char* null-terminated
    StringArray,  // const char* const* with a count
    Blob,         // void* / uint8_t* with a byte length
    AllocationCallbacks, // const VkAllocationCallbacks*: always u64 0 (§1.2)
    PointerArray, // const T* const* with a count: u64 count + per element an inner array (u64 count + elements)
    Skipped,      // a member that never travels (decoded as NULL): a pointer whose size only the driver knows
}

public sealed class FieldModel
{
    public required string Name { get; init; }
    public required RegMember Reg { get; init; }
    public FieldShape Shape { get; set; }
    public TypeRef Elem { get; set; } = null!;
    public int FixedLen { get; set; }
    /// <summary>C# expression (over "{0}" = the receiver prefix) of the element count, for Array/Blob/StringArray.</summary>
    public string? LenExpr { get; set; }
    /// <summary>PointerArray: C# expression (over "{0}" = the receiver prefix, "{1}" = the element index) of element i's inner count.</summary>
    public string? InnerLenExpr { get; set; }
    /// <summary>The member or parameter named by len when it is a plain name (count or in/out count).</summary>
    public string? LenName { get; set; }
    public bool Optional { get; set; }
    /// <summary>
    /// Whether a handle the field holds (the value itself, or each element of an array) may be
    /// VK_NULL_HANDLE: vk.xml's optional (its second entry for an array's elements) or noautovalidity.
    /// </summary>
    public bool NullHandleAllowed { get; set; }
    public bool IsConst { get; set; }
    /// <summary>For commands: this parameter is written by the host (non-const pointer).</summary>
    public bool IsOutput { get; set; }
    /// <summary>For commands: an in/out count: another output array uses it as len.</summary>
    public bool IsInOutCount { get; set; }
    /// <summary>This scalar member is the len of an array in the same struct (kept in partial encodes).</summary>
    public bool IsLenOfArray { get; set; }
    /// <summary>C# type of the field in the native struct / argument.</summary>
    public string NativeCs { get; set; } = "";
    public string? Unsupported { get; set; }
    /// <summary>C# condition (over "{0}") under which an array member is encoded (§1.8 conditional skips).</summary>
    public string? Condition { get; set; }
    /// <summary>Union member: selector values (numbers) that choose it; empty for default-tag unions.</summary>
    public List<long> Selection { get; } = new();
    /// <summary>Struct member of union type: the sibling member whose value is the union's tag.</summary>
    public string? Selector { get; set; }
}

public sealed class StructModel
{
    public required string Name { get; init; }
    public required RegType Reg { get; init; }
    public bool IsUnion => Reg.Category == "union";
    public List<FieldModel> Fields { get; } = new();
    public string? STypeName { get; set; }
    public long STypeValue { get; set; }
    public bool HasSType => STypeName != null;
    public bool HasPNext { get; set; }
    /// <summary>Structs allowed in this struct's pNext chain.</summary>
    public List<StructModel> Extenders { get; } = new();
    /// <summary>Why the struct cannot be put on the wire; null if it can.</summary>
    public string? Unsupported { get; set; }
    public bool Encodable => Unsupported == null;
    /// <summary>May be an output (partial encode on the guest, partial decode on the host).</summary>
    public bool Output { get; set; }
    /// <summary>Default union tag (venus-protocol.md §1.5).</summary>
    public int DefaultTag { get; set; }
    /// <summary>Core version that introduced the struct (e.g. 0x401000), 0 if only an extension has it.</summary>
    public uint CoreVersion { get; set; }
    /// <summary>Extension numbers that provide the struct.</summary>
    public List<int> Extensions { get; } = new();
    public bool Used { get; set; }
    /// <summary>Has a native layout (emitted as a C# struct).</summary>
    public bool Native { get; set; } = true;
    public bool HasBitfields { get; set; }
    /// <summary>Union whose members carry selection values: the tag is the owner's selector value.</summary>
    public bool SelectedUnion { get; set; }
    /// <summary>Always allowed in chains (core 1.0–1.2, Venus' own structs).</summary>
    public bool AlwaysAllowed => Reg.Source != "vk.xml" || (CoreVersion != 0 && CoreVersion <= (1u << 22 | 2u << 12));
    /// <summary>Smallest number of bytes a full encode can take (for the array-fits check).</summary>
    public int MinWireSize { get; set; }
}

public sealed class CommandModel
{
    public required string Name { get; init; }
    public required int TypeValue { get; init; }
    public RegCommand? Reg { get; init; }
    public List<FieldModel> Params { get; } = new();
    public TypeRef? Return { get; set; }
    public string? Unsupported { get; set; }
    public bool Encodable => Unsupported == null && Reg != null;
    public IEnumerable<string> Aliases { get; set; } = Array.Empty<string>();
}
