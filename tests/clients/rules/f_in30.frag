#version 450
layout(location = 30) in vec4 i;
layout(location = 0) out vec4 c;
void main() { c = i; }
